package io.kiln.service.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
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
        @NumberRange(setting = "kiln.upload-limit-bytes", min = 1L << 20, max = 1L << 40)
        long uploadLimitBytes,
        @Bindable(defaultValue = "8589934592")
        @NumberRange(setting = "kiln.upload-max-unpacked-bytes", min = 1L << 20, max = 1L << 44)
        long uploadMaxUnpackedBytes,
        @Bindable(defaultValue = "100")
        @NumberRange(setting = "kiln.upload-max-expansion", min = 2, max = 100_000)
        int uploadMaxExpansion,
        @Bindable(defaultValue = "8388608")
        @NumberRange(setting = "kiln.upload-expansion-grace-bytes", min = 0, max = 1L << 30)
        long uploadExpansionGraceBytes,
        @Bindable(defaultValue = "200000")
        @NumberRange(setting = "kiln.upload-max-files", min = 1, max = 10_000_000)
        int uploadMaxFiles,
        @Bindable(defaultValue = "4096")
        @NumberRange(setting = "kiln.upload-max-name-bytes", min = 100, max = 65_536)
        int uploadMaxNameBytes,
        @Bindable(defaultValue = "1073741824")
        @NumberRange(setting = "kiln.model-limit-bytes", min = 1L << 20, max = 1L << 40)
        long modelLimitBytes,
        @Bindable(defaultValue = "2")
        @NumberRange(setting = "kiln.max-concurrent-uploads", min = 1, max = 64)
        int maxConcurrentUploads,
        @Bindable(defaultValue = "64")
        @NumberRange(setting = "kiln.predict-max-images", min = 1, max = 10_000)
        int predictMaxImages,
        @Bindable(defaultValue = "16777216")
        @NumberRange(setting = "kiln.predict-max-image-bytes", min = 1024, max = 1L << 30)
        long predictMaxImageBytes,
        @Bindable(defaultValue = "16777216")
        @NumberRange(setting = "kiln.predict-max-pixels", min = 1, max = 1L << 30)
        long predictMaxPixels,
        @Bindable(defaultValue = "20,100,500")
        List<Integer> reportSizes,
        @Bindable(defaultValue = "67108864")
        @NumberRange(setting = "kiln.report-cache-bytes", min = 0, max = 1L << 36)
        long reportCacheBytes,
        @Bindable(defaultValue = "1048576")
        @NumberRange(setting = "kiln.max-json-bytes", min = 1024, max = 64L << 20)
        int maxJsonBytes,
        @Bindable(defaultValue = "32")
        @NumberRange(setting = "kiln.max-json-depth", min = 8, max = 500)
        int maxJsonDepth,
        @Bindable(defaultValue = "5s")
        @DurationRange(setting = "kiln.store-probe-interval", min = "100ms", max = "10m")
        Duration storeProbeInterval,
        @Bindable(defaultValue = "1048576")
        @NumberRange(setting = "kiln.outage-log-bytes", min = 0, max = 1L << 30)
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
