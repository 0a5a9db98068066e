package io.kiln.engine.spec;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/**
 * The known name a misspelt one most likely meant ({@code "unit"} for {@code "units"}, {@code "lerning_rate"}
 * for {@code "learningRate"}): what an error message offers as "did you mean ...?".
 */
public final class Suggestions {
    private Suggestions() {
    }

    /**
     * The known name closest to {@code name}, if one is close enough to be a slip: the same but for case,
     * underscores and dashes, or at most a third of its letters apart (one edit for short names, at most three).
     */
    public static Optional<String> closest(String name, Collection<String> known) {
        String key = fold(name);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            if (k.equals(name)) {
                continue;
            }
            int d = distance(key, fold(k));
            // a tie goes to the name that starts the same ("unit" meant "units" rather than "init"), then by name
            if (d < bestDistance || (d == bestDistance && best != null && tieBreak(key, k, best) < 0)) {
                best = k;
                bestDistance = d;
            }
        }
        int allowed = Math.min(3, Math.max(1, key.length() / 3));
        return best != null && bestDistance <= allowed ? Optional.of(best) : Optional.empty();
    }

    /** {@code "; did you mean \"x\"?"}, or nothing when no known name is close. */
    public static String didYouMean(String name, Collection<String> known) {
        return closest(name, known).map(k -> "; did you mean \"" + k + "\"?").orElse("");
    }

    private static int tieBreak(String key, String a, String b) {
        int byPrefix = Integer.compare(commonPrefix(key, fold(b)), commonPrefix(key, fold(a)));
        return byPrefix != 0 ? byPrefix : a.compareTo(b);
    }

    private static int commonPrefix(String a, String b) {
        int n = 0;
        while (n < a.length() && n < b.length() && a.charAt(n) == b.charAt(n)) {
            n++;
        }
        return n;
    }

    /** Case, underscores and dashes do not count: {@code batch_size} is {@code batchSize} misspelt. */
    private static String fold(String s) {
        return s.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
