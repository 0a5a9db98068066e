package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The test archives are what they claim: a bomb's few KB really unpack to its megabytes of zeros, checksums right. */
@Timeout(60)
class ArchivesTest {
    static long[] drain(InputStream in) throws IOException {
        byte[] buf = new byte[1 << 16];
        long n = 0;
        long nonZero = 0;
        for (int r; (r = in.read(buf)) > 0; ) {
            n += r;
            for (int i = 0; i < r; i++) {
                nonZero += buf[i] != 0 ? 1 : 0;
            }
        }
        return new long[] {n, nonZero};
    }

    @Test
    void aGzipBombUnpacksToItsPrefixAndZeros() throws IOException {
        byte[] prefix = Archives.tarHeader("././@LongLink", 'L', 9L << 20);
        byte[] gz = Archives.gzipThenZeros(prefix, 9L << 20);
        assertTrue(gz.length < 20_000, "9 MiB of zeros in " + gz.length + " bytes");
        long[] out = drain(new GZIPInputStream(new ByteArrayInputStream(gz)));
        assertEquals(512 + (9L << 20), out[0], "every byte is there, and the gzip trailer's CRC and size hold");
        long headerNonZero = 0;
        for (byte b : prefix) {
            headerNonZero += b != 0 ? 1 : 0;
        }
        assertEquals(headerNonZero, out[1], "only the header is not zero");
    }

    @Test
    void aZipBombUnpacksToItsZeros() throws IOException {
        byte[] zip = Archives.zipOfZeros("zeros.bin", 5L << 20);
        try (ZipInputStream z = new ZipInputStream(new ByteArrayInputStream(zip))) {
            assertEquals("zeros.bin", z.getNextEntry().getName());
            long[] out = drain(z);
            assertEquals(5L << 20, out[0]);
            assertEquals(0, out[1]);
        }
    }
}
