package io.kiln.engine.data.captions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.data.DataException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The words of a captioning data set ({@code coco2014_vocab.json}: {@code idx_to_word}, {@code word_to_idx}),
 * whose first four are the special tokens {@code <NULL>} (padding after a caption's end), {@code <START>},
 * {@code <END>} and {@code <UNK>} (a rare word).
 */
public final class Vocabulary {
    public static final int NULL = 0;
    public static final int START = 1;
    public static final int END = 2;
    public static final int UNK = 3;
    static final List<String> SPECIAL = List.of("<NULL>", "<START>", "<END>", "<UNK>");

    private final List<String> words;

    public Vocabulary(List<String> words) {
        if (words.size() < SPECIAL.size() || !words.subList(0, SPECIAL.size()).equals(SPECIAL)) {
            throw new DataException("a vocabulary must start with " + SPECIAL + ", got "
                    + words.subList(0, Math.min(4, words.size())));
        }
        this.words = List.copyOf(words);
    }

    /** Reads {@code idx_to_word} and checks that {@code word_to_idx}, when present, is its inverse. */
    static Vocabulary read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new DataException("cannot read " + file + " as JSON: " + e.getMessage(), e);
        }
        JsonNode list = root == null ? null : root.get("idx_to_word");
        if (list == null || !list.isArray()) {
            throw new DataException("file " + file + " has no \"idx_to_word\" list");
        }
        List<String> words = new ArrayList<>();
        for (JsonNode w : list) {
            if (!w.isTextual()) {
                throw new DataException("file " + file + ": idx_to_word[" + words.size() + "] is not a word");
            }
            words.add(w.asText());
        }
        JsonNode map = root.get("word_to_idx");
        if (map != null && map.isObject()) {
            for (int i = 0; i < words.size(); i++) {
                JsonNode idx = map.get(words.get(i));
                if (idx == null || idx.asInt(-1) != i) {
                    throw new DataException("file " + file + ": word_to_idx[\"" + words.get(i) + "\"] is "
                            + (idx == null ? "missing" : idx.toString()) + " but idx_to_word[" + i + "] names it");
                }
            }
        }
        try {
            return new Vocabulary(words);
        } catch (DataException e) {
            throw new DataException("file " + file + ": " + e.getMessage(), e);
        }
    }

    public int size() {
        return words.size();
    }

    public String word(int index) {
        return words.get(index);
    }

    public List<String> words() {
        return words;
    }

    /**
     * The words of a caption up to and with its {@code <END>}, without {@code <START>} and {@code <NULL>}:
     * "a dog on a couch &lt;END&gt;".
     */
    public String decode(int[] caption) {
        StringBuilder sb = new StringBuilder();
        for (int w : caption) {
            if (w == NULL || w == START) {
                continue;
            }
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(w >= 0 && w < words.size() ? words.get(w) : "?");
            if (w == END) {
                break;
            }
        }
        return sb.toString();
    }

    /** The word indices BLEU compares: up to {@code <END>}, without the special tokens. */
    public static int[] content(int[] caption) {
        int[] out = new int[caption.length];
        int n = 0;
        for (int w : caption) {
            if (w == END) {
                break;
            }
            if (w > UNK) {
                out[n++] = w;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
