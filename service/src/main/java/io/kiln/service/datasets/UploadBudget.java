package io.kiln.service.datasets;

import io.kiln.service.config.ByteSizes;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.TooLarge;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;

/**
 * What one upload may cost, counted while it streams: the archive's own bytes (read from the request), the bytes
 * its files write, and how many files. Output is held to {@link KilnLimits#uploadMaxUnpackedBytes()} in all, and,
 * once past {@link KilnLimits#uploadExpansionGraceBytes()}, to {@link KilnLimits#uploadMaxExpansion()} times the
 * archive bytes read so far: a compression bomb expands a thousandfold and is refused a few megabytes in, while
 * real datasets (images, IDX and CIFAR-10 batches) expand 1 to 5 times.
 */
final class UploadBudget {
    private final KilnLimits limits;
    private long read;
    private long written;
    private int files;

    UploadBudget(KilnLimits limits) {
        this.limits = limits;
    }

    /** The archive as it arrives, counted; beyond kiln.upload-limit-bytes it is refused (413). */
    InputStream counting(InputStream archive) {
        return new FilterInputStream(archive) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                if (b >= 0) {
                    consumed(1);
                }
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                if (n > 0) {
                    consumed(n);
                }
                return n;
            }
        };
    }

    private void consumed(int n) {
        read += n;
        if (read > limits.uploadLimitBytes()) {
            throw new TooLarge("file", "the archive is larger than " + size(limits.uploadLimitBytes())
                    + " (kiln.upload-limit-bytes)");
        }
    }

    /** One more file is about to be written. */
    void file(String name) {
        if (++files > limits.uploadMaxFiles()) {
            throw new BadInput("file", "the archive holds more than " + limits.uploadMaxFiles()
                    + " files (kiln.upload-max-files); refused at " + name);
        }
    }

    /** {@code n} more bytes are about to be written; refuses them if they break a limit. */
    void write(long n) {
        long after = written + n;
        if (after > limits.uploadMaxUnpackedBytes()) {
            throw new BadInput("file", "the archive unpacks to more than " + size(limits.uploadMaxUnpackedBytes())
                    + " (kiln.upload-max-unpacked-bytes); refused after writing " + size(written));
        }
        if (after > limits.uploadExpansionGraceBytes() && after > (double) read * limits.uploadMaxExpansion()) {
            throw new BadInput("file", String.format(Locale.ROOT, "the archive expands more than %d times "
                    + "(kiln.upload-max-expansion): %s of its bytes unpacked to %s; refused after writing %s",
                    limits.uploadMaxExpansion(), size(read), size(after), size(written)));
        }
        written = after;
    }

    long read() {
        return read;
    }

    long written() {
        return written;
    }

    static String size(long bytes) {
        return ByteSizes.format(bytes);
    }
}
