package io.kiln.service;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;

/**
 * Archives for upload tests, hostile ones included, built in memory: tar headers of any type and declared size,
 * and compression bombs (a gzip or zip whose few hundred KB unpack to hundreds of MB of zeros), made without
 * compressing those hundreds of MB: deflate blocks flushed after a megabyte of zeros, with a window of zeros
 * behind them, are the same bytes every time, so one block is repeated.
 */
public final class Archives {
    static final int CHUNK = 1 << 20;

    private Archives() {
    }

    /** A ustar header of an entry: {@code type} '0' a file, '5' a folder, 'L' a GNU long name, 'x' PAX, '2' a link. */
    public static byte[] tarHeader(String name, char type, long size) {
        byte[] h = new byte[512];
        put(h, 0, name.getBytes(StandardCharsets.UTF_8), 100);
        put(h, 100, "0000644\0".getBytes(StandardCharsets.US_ASCII), 8);
        put(h, 108, "0000000\0".getBytes(StandardCharsets.US_ASCII), 8);
        put(h, 116, "0000000\0".getBytes(StandardCharsets.US_ASCII), 8);
        put(h, 124, String.format("%011o\0", size).getBytes(StandardCharsets.US_ASCII), 12);
        put(h, 136, "00000000000\0".getBytes(StandardCharsets.US_ASCII), 12);
        Arrays.fill(h, 148, 156, (byte) ' ');
        h[156] = (byte) type;
        put(h, 257, "ustar\0".getBytes(StandardCharsets.US_ASCII), 6);
        put(h, 263, "00".getBytes(StandardCharsets.US_ASCII), 2);
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xFF;
        }
        put(h, 148, String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII), 8);
        return h;
    }

    /** A tar entry: its header, then its data padded to 512 bytes. */
    public static byte[] tarEntry(String name, char type, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(tarHeader(name, type, data.length));
        out.writeBytes(data);
        out.writeBytes(new byte[(512 - data.length % 512) % 512]);
        return out.toByteArray();
    }

    /** Entries followed by the two zero records that end a tar. */
    public static byte[] tar(byte[]... entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] e : entries) {
            out.writeBytes(e);
        }
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    /** A gzip of {@code prefix} then {@code zeros} zero bytes. */
    public static byte[] gzipThenZeros(byte[] prefix, long zeros) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff});
        out.writeBytes(deflateThenZeros(prefix, zeros));
        long total = prefix.length + zeros;
        ByteBuffer trailer = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        trailer.putInt((int) crc(prefix, zeros));
        trailer.putInt((int) total);
        out.writeBytes(trailer.array());
        return out.toByteArray();
    }

    /** A zip of one file, {@code name}, of {@code zeros} zero bytes, deflated. */
    public static byte[] zipOfZeros(String name, long zeros) throws IOException {
        byte[] raw = deflateThenZeros(new byte[0], zeros);
        ZipArchiveEntry e = new ZipArchiveEntry(name);
        e.setMethod(ZipArchiveEntry.DEFLATED);
        e.setSize(zeros);
        e.setCompressedSize(raw.length);
        e.setCrc(crc(new byte[0], zeros));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(out)) {
            zip.addRawArchiveEntry(e, new ByteArrayInputStream(raw));
        }
        return out.toByteArray();
    }

    /** Raw deflate data of {@code prefix} (shorter than a megabyte) then {@code zeros} zero bytes. */
    static byte[] deflateThenZeros(byte[] prefix, long zeros) {
        long total = prefix.length + zeros;
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION, true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (total < 3L * CHUNK) {
                byte[] all = Arrays.copyOf(prefix, (int) total);
                out.writeBytes(deflate(d, all, Deflater.FULL_FLUSH));
            } else {
                byte[] first = Arrays.copyOf(prefix, CHUNK);
                out.writeBytes(deflate(d, first, Deflater.SYNC_FLUSH));
                byte[] z = new byte[CHUNK];
                byte[] second = deflate(d, z, Deflater.SYNC_FLUSH);
                byte[] third = deflate(d, z, Deflater.SYNC_FLUSH);
                if (!Arrays.equals(second, third)) {
                    throw new IllegalStateException("flushed blocks of zeros differ; cannot repeat them");
                }
                out.writeBytes(second);
                long left = total - 2L * CHUNK;
                for (; left >= CHUNK; left -= CHUNK) {
                    out.writeBytes(third);
                }
                out.writeBytes(deflate(d, new byte[(int) left], Deflater.SYNC_FLUSH));
            }
            d.finish();
            byte[] buf = new byte[1 << 16];
            while (!d.finished()) {
                out.write(buf, 0, d.deflate(buf));
            }
        } finally {
            d.end();
        }
        return out.toByteArray();
    }

    private static byte[] deflate(Deflater d, byte[] input, int flush) {
        d.setInput(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        int n;
        do {
            n = d.deflate(buf, 0, buf.length, flush);
            out.write(buf, 0, n);
        } while (n == buf.length || !d.needsInput());
        return out.toByteArray();
    }

    private static long crc(byte[] prefix, long zeros) {
        CRC32 crc = new CRC32();
        crc.update(prefix);
        byte[] z = new byte[CHUNK];
        for (long left = zeros; left > 0; left -= CHUNK) {
            crc.update(z, 0, (int) Math.min(CHUNK, left));
        }
        return crc.getValue();
    }

    private static void put(byte[] h, int off, byte[] value, int max) {
        System.arraycopy(value, 0, h, off, Math.min(max, value.length));
    }
}
