package io.kiln.service.config;

import java.util.Locale;

/** Byte counts as settings write them (2g, 512m) and as messages show them (1.5 GiB, 256.0 MiB). */
public final class ByteSizes {
    private ByteSizes() {
    }

    /** A Java heap size as -Xmx reads it: digits with an optional k, m, g or t (powers of 1024). */
    public static long parseJavaSize(String size) {
        String s = size.trim().toLowerCase(Locale.ROOT);
        char unit = s.charAt(s.length() - 1);
        int shift = switch (unit) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        long n = Long.parseLong(shift == 0 ? s : s.substring(0, s.length() - 1));
        return n << shift;
    }

    public static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        if (bytes < 1L << 20) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        if (bytes < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
