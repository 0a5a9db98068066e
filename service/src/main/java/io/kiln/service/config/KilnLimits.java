package io.kiln.service.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import java.time.Duration;
import java.util.List;

/**
 * What one request, upload or outage may cost the service, {@code kiln.*} like {@link KilnConfig} and checked the
 * same way at start-up (a value out of bounds stops the service naming the setting). docs/limits.md lists each
 * with its default and what reaching it answers.
 *
 * @param uploadLimitBytes the largest dataset archive accepted (its compressed size); beyond, 413
 * @param uploadMaxUnpackedBytes the most bytes one archive may write, all its files together
 * @param uploadMaxExpansion how many times the archive's bytes read so far its output may be, once past
 *                           {@code uploadExpansionGraceBytes}; a bomb is refused within a few MB
 * @param uploadExpansionGraceBytes output an archive may write before the expansion ratio applies
 * @param uploadMaxFiles files one archive may hold
 * @param uploadMaxNameBytes the longest entry name (a GNU long name or a PAX header is refused unread beyond it)
 * @param modelLimitBytes the largest pretrained weights file accepted ({@code POST /api/v1/models}); beyond, 413
 * @param maxConcurrentUploads uploads installed at once; one more is refused with 429
 * @param predictMaxImages images one prediction request may hold
 * @param predictMaxImageBytes the largest image file a prediction takes
 * @param predictMaxPixels the most pixels (width times height, read from the image's header) an image may have
 * @param reportSizes the numbers of test images a report is rendered with; a request is rounded up to one
 * @param reportCacheBytes the reports kept per job, in bytes; the least recently used go first (0: none is kept)
 * @param maxJsonBytes the largest JSON request body
 * @param maxJsonDepth how deep objects and arrays in a JSON request body may nest
 * @param storeProbeInterval how often this server checks that the job store can be written
 * @param outageLogBytes the log text of one running job held in memory while the store cannot be written
 * @param memoryCheck whether a job whose estimated memory does not fit the device is refused at submission
 */
@ConfigurationProperties("kiln")
public record KilnLimits(
        @Bindable(defaultValue = "2147483648")
        @Min(value = 1L << 20, message = "kiln.upload-limit-bytes: must be at least 1048576 (1 MiB)")
        @Max(value = 1L << 40, message = "kiln.upload-limit-bytes: must be at most 1099511627776 (1 TiB)")
        long uploadLimitBytes,
        @Bindable(defaultValue = "8589934592")
        @Min(value = 1L << 20, message = "kiln.upload-max-unpacked-bytes: must be at least 1048576 (1 MiB)")
        @Max(value = 1L << 44, message = "kiln.upload-max-unpacked-bytes: must be at most 17592186044416 (16 TiB)")
        long uploadMaxUnpackedBytes,
        @Bindable(defaultValue = "100")
        @Min(value = 2, message = "kiln.upload-max-expansion: must be at least 2")
        @Max(value = 100_000, message = "kiln.upload-max-expansion: must be at most 100000")
        int uploadMaxExpansion,
        @Bindable(defaultValue = "8388608")
        @Min(value = 0, message = "kiln.upload-expansion-grace-bytes: must be at least 0")
        @Max(value = 1L << 30, message = "kiln.upload-expansion-grace-bytes: must be at most 1073741824 (1 GiB)")
        long uploadExpansionGraceBytes,
        @Bindable(defaultValue = "200000")
        @Min(value = 1, message = "kiln.upload-max-files: must be at least 1")
        @Max(value = 10_000_000, message = "kiln.upload-max-files: must be at most 10000000")
        int uploadMaxFiles,
        @Bindable(defaultValue = "4096")
        @Min(value = 100, message = "kiln.upload-max-name-bytes: must be at least 100")
        @Max(value = 65_536, message = "kiln.upload-max-name-bytes: must be at most 65536")
        int uploadMaxNameBytes,
        @Bindable(defaultValue = "1073741824")
        @Min(value = 1L << 20, message = "kiln.model-limit-bytes: must be at least 1048576 (1 MiB)")
        @Max(value = 1L << 40, message = "kiln.model-limit-bytes: must be at most 1099511627776 (1 TiB)")
        long modelLimitBytes,
        @Bindable(defaultValue = "2")
        @Min(value = 1, message = "kiln.max-concurrent-uploads: must be at least 1")
        @Max(value = 64, message = "kiln.max-concurrent-uploads: must be at most 64")
        int maxConcurrentUploads,
        @Bindable(defaultValue = "64")
        @Min(value = 1, message = "kiln.predict-max-images: must be at least 1")
        @Max(value = 10_000, message = "kiln.predict-max-images: must be at most 10000")
        int predictMaxImages,
        @Bindable(defaultValue = "16777216")
        @Min(value = 1024, message = "kiln.predict-max-image-bytes: must be at least 1024")
        @Max(value = 1L << 30, message = "kiln.predict-max-image-bytes: must be at most 1073741824 (1 GiB)")
        long predictMaxImageBytes,
        @Bindable(defaultValue = "16777216")
        @Min(value = 1, message = "kiln.predict-max-pixels: must be at least 1")
        @Max(value = 1L << 30, message = "kiln.predict-max-pixels: must be at most 1073741824")
        long predictMaxPixels,
        @Bindable(defaultValue = "20,100,500")
        List<Integer> reportSizes,
        @Bindable(defaultValue = "67108864")
        @Min(value = 0, message = "kiln.report-cache-bytes: must be at least 0")
        @Max(value = 1L << 36, message = "kiln.report-cache-bytes: must be at most 68719476736 (64 GiB)")
        long reportCacheBytes,
        @Bindable(defaultValue = "1048576")
        @Min(value = 1024, message = "kiln.max-json-bytes: must be at least 1024")
        @Max(value = 64L << 20, message = "kiln.max-json-bytes: must be at most 67108864 (64 MiB)")
        int maxJsonBytes,
        @Bindable(defaultValue = "32")
        @Min(value = 8, message = "kiln.max-json-depth: must be at least 8")
        @Max(value = 500, message = "kiln.max-json-depth: must be at most 500")
        int maxJsonDepth,
        @Bindable(defaultValue = "5s")
        @DurationRange(min = "100ms", max = "10m", message = "kiln.store-probe-interval: must be between 100ms and 10m")
        Duration storeProbeInterval,
        @Bindable(defaultValue = "1048576")
        @Min(value = 0, message = "kiln.outage-log-bytes: must be at least 0")
        @Max(value = 1L << 30, message = "kiln.outage-log-bytes: must be at most 1073741824 (1 GiB)")
        long outageLogBytes,
        @Bindable(defaultValue = "true")
        boolean memoryCheck) {

    /** The largest number of test images a report shows. */
    static final int MAX_REPORT_SIZE = 10_000;

    public KilnLimits {
        if (reportSizes == null || reportSizes.isEmpty() || reportSizes.size() > 10) {
            throw new IllegalArgumentException("kiln.report-sizes: must list 1 to 10 sizes, got " + reportSizes);
        }
        for (Integer n : reportSizes) {
            if (n == null || n < 1 || n > MAX_REPORT_SIZE) {
                throw new IllegalArgumentException("kiln.report-sizes: each size must be between 1 and "
                        + MAX_REPORT_SIZE + ", got " + reportSizes);
            }
        }
        reportSizes = reportSizes.stream().distinct().sorted().toList();
    }

    /** The report size a request for {@code images} test images gets: the smallest size at least that, else the largest. */
    public int reportSize(int images) {
        for (int s : reportSizes) {
            if (s >= images) {
                return s;
            }
        }
        return reportSizes.get(reportSizes.size() - 1);
    }
}
