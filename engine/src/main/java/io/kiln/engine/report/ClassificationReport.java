package io.kiln.engine.report;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.data.Dataset;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Per-image results of a model on a test set: predicted class and class scores of every image, the confusion
 * matrix and per-class accuracy, rendered as one self-contained HTML page (images inlined as PNG data URIs,
 * no external files), which is what a course hands in.
 */
public final class ClassificationReport {
    private final Dataset test;
    private final List<String> classes;
    private final int k;
    private final float[] scores;
    private final int[] predicted;
    private final int[][] confusion;
    private final String scoreLabel;
    /** Whether the scores are probabilities (in [0, 1]) rather than raw scores. */
    private final boolean probabilities;
    /** Every class's score is shown for up to this many classes; beyond, the {@link #TOP_SCORES} highest. */
    public static final int ALL_SCORES_UP_TO = 20;
    public static final int TOP_SCORES = 5;

    /**
     * @param scores {@code test.size() * outputs} model outputs (see Trainer.predict); a single output is the
     *               probability of class 1 (logistic) or a regression value (mse)
     */
    public ClassificationReport(Dataset test, float[] scores, LossKind loss) {
        this.test = test;
        this.classes = test.classNames();
        int outputs = scores.length / Math.max(1, test.size());
        this.predicted = new int[test.size()];
        this.confusion = new int[classes.size()][classes.size()];
        if (outputs == 1) {
            // One output: expand to a score per class so the page reads the same.
            k = 2;
            this.scores = new float[test.size() * 2];
            for (int i = 0; i < test.size(); i++) {
                float s = scores[i];
                boolean positive = loss == LossKind.LOGISTIC ? s > 0.5f : Math.round(s) >= 1;
                this.scores[2 * i] = loss == LossKind.LOGISTIC ? 1 - s : s;
                this.scores[2 * i + 1] = s;
                predicted[i] = Math.min(classes.size() - 1, positive ? 1 : 0);
            }
        } else {
            k = outputs;
            this.scores = scores;
            for (int i = 0; i < test.size(); i++) {
                int best = 0;
                for (int j = 1; j < k; j++) {
                    if (scores[i * k + j] > scores[i * k + best]) {
                        best = j;
                    }
                }
                predicted[i] = best;
            }
        }
        for (int i = 0; i < test.size(); i++) {
            confusion[test.label(i)][Math.min(predicted[i], classes.size() - 1)]++;
        }
        this.probabilities = loss.givesProbabilities();
        this.scoreLabel = probabilities ? "probabilities" : "raw scores";
    }

    public int predicted(int i) {
        return predicted[i];
    }

    /** confusion()[true][predicted] counts over the whole test set. */
    public int[][] confusion() {
        return confusion;
    }

    public double accuracy() {
        int correct = 0;
        for (int c = 0; c < classes.size(); c++) {
            correct += confusion[c][c];
        }
        return test.size() == 0 ? 0 : (double) correct / test.size();
    }

    /** Accuracy of each true class (NaN for a class with no test image). */
    public double[] perClassAccuracy() {
        double[] acc = new double[classes.size()];
        for (int c = 0; c < classes.size(); c++) {
            int total = 0;
            for (int p = 0; p < classes.size(); p++) {
                total += confusion[c][p];
            }
            acc[c] = total == 0 ? Double.NaN : (double) confusion[c][c] / total;
        }
        return acc;
    }

    /** One JSON object per image: its name, the predicted class (index and name) and every class's score. */
    public List<ObjectNode> predictions(List<String> names) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        List<ObjectNode> out = new ArrayList<>();
        for (int i = 0; i < test.size(); i++) {
            ObjectNode n = f.objectNode();
            n.put("image", names.get(i));
            n.put("predicted", predicted[i]);
            n.put("class", name(predicted[i]));
            ObjectNode s = n.putObject("scores");
            for (int j = 0; j < k; j++) {
                s.put(name(j), scores[i * k + j]);
            }
            out.add(n);
        }
        return out;
    }

    /** The summary as JSON: accuracy, classes, confusion matrix, per-class accuracy. */
    public ObjectNode summary() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode n = f.objectNode();
        n.put("samples", test.size());
        n.put("accuracy", accuracy());
        n.set("classes", f.arrayNode().addAll(classes.stream().map(f::textNode).toList()));
        var m = n.putArray("confusion");
        for (int[] row : confusion) {
            var r = m.addArray();
            for (int v : row) {
                r.add(v);
            }
        }
        var pc = n.putArray("perClassAccuracy");
        for (double a : perClassAccuracy()) {
            if (Double.isNaN(a)) {
                pc.addNull();
            } else {
                pc.add(a);
            }
        }
        return n;
    }

    /**
     * The HTML page: header facts, confusion matrix, per-class accuracy, then the first {@code images} test
     * images and up to {@code images} misclassified ones, each with true and predicted class and its scores.
     */
    public String html(String title, List<String[]> facts, int images) {
        StringBuilder h = new StringBuilder(1 << 16);
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title))
                .append("</title><style>").append(CSS).append("</style></head><body><h1>").append(esc(title))
                .append("</h1><table class=\"facts\">");
        for (String[] f : facts) {
            h.append("<tr><th>").append(esc(f[0])).append("</th><td>").append(esc(f[1])).append("</td></tr>");
        }
        h.append(String.format(Locale.ROOT, "<tr><th>test accuracy</th><td>%.4f (%d images)</td></tr></table>",
                accuracy(), test.size()));
        confusionTable(h);
        h.append("<h2>Test images</h2><p>The first ").append(Math.min(images, test.size())).append(" test images, each with ")
                .append(k <= ALL_SCORES_UP_TO ? "every class's " + scoreLabel : "its " + TOP_SCORES + " highest " + scoreLabel
                        + " (of " + k + " classes)")
                .append("; the predicted class is in bold, the true class marked \u2713.</p>");
        List<Integer> first = new ArrayList<>();
        for (int i = 0; i < Math.min(images, test.size()); i++) {
            first.add(i);
        }
        gallery(h, first);
        List<Integer> wrong = new ArrayList<>();
        for (int i = 0; i < test.size() && wrong.size() < images; i++) {
            if (predicted[i] != test.label(i)) {
                wrong.add(i);
            }
        }
        h.append("<h2>Misclassified</h2><p>").append(wrong.size() < images ? "All " : "The first ").append(wrong.size())
                .append(" misclassified test images.</p>");
        gallery(h, wrong);
        h.append("</body></html>\n");
        return h.toString();
    }

    private void confusionTable(StringBuilder h) {
        h.append("<h2>Confusion matrix</h2><p>Rows: true class; columns: predicted class.</p>")
                .append("<table class=\"confusion\"><tr><th></th>");
        for (int p = 0; p < classes.size(); p++) {
            h.append("<th>").append(esc(classes.get(p))).append("</th>");
        }
        h.append("<th>accuracy</th></tr>");
        double[] acc = perClassAccuracy();
        for (int t = 0; t < classes.size(); t++) {
            int total = 0;
            for (int v : confusion[t]) {
                total += v;
            }
            h.append("<tr><th>").append(esc(classes.get(t))).append("</th>");
            for (int p = 0; p < classes.size(); p++) {
                double share = total == 0 ? 0 : (double) confusion[t][p] / total;
                long shade = Math.round(SHADES * Math.min(1, share * (t == p ? 1 : 3)));
                h.append("<td class=\"").append(t == p ? "g" : "r").append(shade).append("\">").append(confusion[t][p])
                        .append("</td>");
            }
            h.append(Double.isNaN(acc[t]) ? "<td>-</td>" : String.format(Locale.ROOT, "<td>%.3f</td>", acc[t]))
                    .append("</tr>");
        }
        h.append("</table>");
    }

    private void gallery(StringBuilder h, List<Integer> indices) {
        h.append("<div class=\"gallery\">");
        for (int i : indices) {
            int label = test.label(i);
            boolean right = predicted[i] == label;
            h.append("<figure class=\"").append(right ? "right" : "wrong").append("\"><img alt=\"test image ").append(i)
                    .append("\" src=\"data:image/png;base64,").append(png(i)).append("\"><figcaption>#").append(i)
                    .append(" true: <b>").append(esc(classes.get(label))).append("</b>, predicted: <b>")
                    .append(esc(name(predicted[i]))).append("</b></figcaption>");
            scoreTable(h, i, label);
            h.append("</figure>");
        }
        h.append("</div>");
    }

    /**
     * The scores of image {@code i} as a compact table, a bar (a {@code meter}, which needs no style attribute) and
     * the figure for each class: every class up to {@link #ALL_SCORES_UP_TO} classes, in class order; the
     * {@link #TOP_SCORES} highest beyond. Raw scores (SVM, MSE) are drawn between the image's lowest and highest.
     */
    private void scoreTable(StringBuilder h, int i, int label) {
        int[] shown = scoresShown(i);
        double lo = 0;
        double hi = 1;
        if (!probabilities) {
            lo = Double.POSITIVE_INFINITY;
            hi = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                lo = Math.min(lo, scores[i * k + j]);
                hi = Math.max(hi, scores[i * k + j]);
            }
            if (!(hi > lo)) {
                hi = lo + 1;
            }
        }
        h.append("<table class=\"scores\">");
        for (int j : shown) {
            double v = scores[i * k + j];
            String cls = (j == predicted[i] ? "p" : "") + (j == label ? (j == predicted[i] ? " t" : "t") : "");
            h.append("<tr").append(cls.isEmpty() ? "" : " class=\"" + cls + "\"").append("><td>").append(esc(name(j)))
                    .append(String.format(Locale.ROOT, "</td><td><meter min=\"%s\" max=\"%s\" value=\"%s\"></meter></td>"
                            + "<td>%.3f</td></tr>", num(lo), num(hi), num(Double.isFinite(v) ? v : lo), v));
        }
        h.append("</table>");
    }

    /** The classes whose scores image {@code i} shows: all of them, or the highest few when there are many. */
    int[] scoresShown(int i) {
        if (k <= ALL_SCORES_UP_TO) {
            int[] all = new int[k];
            java.util.Arrays.setAll(all, j -> j);
            return all;
        }
        return top(i, TOP_SCORES);
    }

    private static String num(double v) {
        return Double.toString(v);
    }

    private String name(int cls) {
        return cls < classes.size() ? classes.get(cls) : "output " + cls;
    }

    private int[] top(int i, int n) {
        int m = Math.min(n, k);
        int[] best = new int[m];
        boolean[] used = new boolean[k];
        for (int r = 0; r < m; r++) {
            int b = -1;
            for (int j = 0; j < k; j++) {
                if (!used[j] && (b < 0 || scores[i * k + j] > scores[i * k + b])) {
                    b = j;
                }
            }
            used[b] = true;
            best[r] = b;
        }
        return best;
    }

    /** Test image {@code i} as a base64 PNG (greyscale or RGB). */
    public String png(int i) {
        int c = test.channels();
        int hgt = test.height();
        int w = test.width();
        byte[] raw = new byte[test.sampleSize()];
        test.copyRaw(i, raw, 0);
        BufferedImage img = new BufferedImage(w, hgt, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        int plane = w * hgt;
        for (int y = 0; y < hgt; y++) {
            for (int x = 0; x < w; x++) {
                int p = y * w + x;
                int r = raw[p] & 0xFF;
                int g = c >= 3 ? raw[plane + p] & 0xFF : r;
                int b = c >= 3 ? raw[2 * plane + p] & 0xFF : r;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Shades of a confusion-matrix cell: its share of the row, in steps of 1/SHADES (classes g0..g20, r0..r20). */
    private static final int SHADES = 20;

    /**
     * The page's only style, one fixed block: a confusion cell's shade is a class, not a style attribute, so that
     * a Content-Security-Policy can allow this block by its hash and no inline style besides.
     */
    public static final String CSS = """
            body{font-family:system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
            table.facts th{text-align:left;background:#f4f4f4}
            .gallery{display:flex;flex-wrap:wrap;gap:10px}
            figure{margin:0;padding:6px;border:2px solid #2e7d32;border-radius:6px;width:236px;font-size:12px}
            figure.wrong{border-color:#c62828}
            figure img{width:112px;height:112px;image-rendering:pixelated;display:block;margin:auto}
            table.scores{margin:4px 0 0 0;width:100%;font-size:11px}table.scores td{border:0;padding:0 2px}
            table.scores td:first-child{text-align:left;max-width:90px;overflow:hidden;white-space:nowrap}
            table.scores meter{width:80px;height:9px}table.scores tr.p td{font-weight:700}
            table.scores tr.t td:first-child::before{content:"\\2713 ";color:#2e7d32}
            """ + shades("g", "46,125,50") + shades("r", "198,40,40");

    private static String shades(String prefix, String rgb) {
        StringBuilder css = new StringBuilder();
        for (int i = 0; i <= SHADES; i++) {
            css.append(String.format(Locale.ROOT, "td.%s%d{background:rgba(%s,%.2f)}", prefix, i, rgb, (double) i / SHADES));
        }
        return css.append('\n').toString();
    }
}
