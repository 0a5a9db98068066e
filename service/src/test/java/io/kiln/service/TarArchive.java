package io.kiln.service;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Builds POSIX (ustar) tar archives in memory, entry by entry, for upload tests: good ones and hostile ones. */
public final class TarArchive {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A regular file. */
    public TarArchive file(String name, byte[] content) {
        return entry(name, '0', content, "");
    }

    /** Every regular file of {@code dir}, under {@code prefix}. */
    public TarArchive files(Path dir, String prefix) {
        try (var list = Files.list(dir)) {
            for (Path f : list.filter(Files::isRegularFile).sorted().toList()) {
                file(prefix + f.getFileName(), Files.readAllBytes(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public TarArchive folder(String name) {
        return entry(name.endsWith("/") ? name : name + "/", '5', new byte[0], "");
    }

    /** A symbolic link ('2') or hard link ('1') to {@code target}. */
    public TarArchive link(String name, char type, String target) {
        return entry(name, type, new byte[0], target);
    }

    public TarArchive entry(String name, char type, byte[] content, String linkTarget) {
        byte[] h = new byte[512];
        put(h, 0, 100, name);
        put(h, 100, 8, "0000644");
        put(h, 108, 8, "0000000");
        put(h, 116, 8, "0000000");
        put(h, 124, 12, String.format("%011o", content.length));
        put(h, 136, 12, String.format("%011o", 0));
        h[156] = (byte) type;
        put(h, 157, 100, linkTarget);
        put(h, 257, 6, "ustar");
        put(h, 263, 2, "00");
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        int sum = 0;
        for (byte b : h) {
            sum += b & 0xff;
        }
        put(h, 148, 8, String.format("%06o", sum));
        h[155] = ' ';
        out.writeBytes(h);
        out.writeBytes(content);
        out.writeBytes(new byte[(512 - content.length % 512) % 512]);
        return this;
    }

    /** The archive with its end marker (two empty blocks). */
    public byte[] tar() {
        ByteArrayOutputStream end = new ByteArrayOutputStream();
        end.writeBytes(out.toByteArray());
        end.writeBytes(new byte[1024]);
        return end.toByteArray();
    }

    public byte[] tarGz() {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(tar());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return gz.toByteArray();
    }

    private static void put(byte[] h, int offset, int length, String value) {
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        if (b.length > length) {
            throw new IllegalArgumentException(value + " is longer than " + length + " bytes");
        }
        System.arraycopy(b, 0, h, offset, b.length);
    }
}
