package io.kiln.engine.report;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.checkpoint.Checkpoint;
import java.util.List;
import java.util.Locale;

/**
 * The HTML page of a captioning job, from its checkpoint alone: the last epoch's figures (training and validation
 * loss, word accuracy, validation BLEU-4) and the greedy captions of the fixed training and validation images beside
 * their ground truth, each image linked when the data set's {@code *_urls.txt} gave its address. The same single
 * style block as {@link ClassificationReport}, so the service's Content-Security-Policy covers both.
 */
public final class CaptionReport {
    /** The {@code kind} a captioning checkpoint's info has. */
    public static final String KIND = "captioning";

    private CaptionReport() {
    }

    public static boolean isCaptioning(Checkpoint ckpt) {
        return KIND.equals(ckpt.info().path("kind").asText());
    }

    public static String html(Checkpoint ckpt, String title, List<String[]> facts) {
        JsonNode info = ckpt.info();
        StringBuilder h = new StringBuilder(1 << 14);
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>")
                .append(ClassificationReport.esc(title)).append("</title><style>").append(ClassificationReport.CSS)
                .append("</style></head><body><h1>").append(ClassificationReport.esc(title))
                .append("</h1><table class=\"facts\">");
        for (String[] f : facts) {
            row(h, f[0], f[1]);
        }
        row(h, "model", info.path("cell").asText() + ", wordvec " + info.path("wordvec").asInt() + ", hidden "
                + info.path("hidden").asInt() + ", " + info.path("idx_to_word").size() + " words, features "
                + info.path("features").asText() + " (" + info.path("featureDim").asInt() + ")");
        for (String[] f : new String[][] {{"train_loss", "training loss (per caption)"},
                {"val_loss", "validation loss (per caption)"}, {"train_acc", "training word accuracy"},
                {"val_acc", "validation word accuracy"}, {"val_bleu4", "validation BLEU-4"}}) {
            if (info.path(f[0]).isNumber()) {
                row(h, f[1], String.format(Locale.ROOT, "%.4f", info.get(f[0]).asDouble()));
            }
        }
        h.append("</table><h2>Sampled captions</h2><p>Greedy captions of fixed images after epoch ").append(ckpt.epoch())
                .append(", beside every ground-truth caption of the image.</p><table><tr><th>split</th><th>image</th>"
                        + "<th>sampled</th><th>ground truth</th></tr>");
        for (JsonNode s : info.path("samples")) {
            String image = Integer.toString(s.path("image").asInt());
            h.append("<tr><td>").append(ClassificationReport.esc(s.path("split").asText())).append("</td><td>");
            String url = s.path("url").asText("");
            if (url.startsWith("http://") || url.startsWith("https://")) {
                h.append("<a href=\"").append(ClassificationReport.esc(url)).append("\">").append(image).append("</a>");
            } else {
                h.append(image);
            }
            h.append("</td><td>").append(ClassificationReport.esc(s.path("sample").asText())).append("</td><td>");
            for (JsonNode t : s.path("truth")) {
                h.append(ClassificationReport.esc(t.asText())).append("<br>");
            }
            h.append("</td></tr>");
        }
        h.append("</table></body></html>\n");
        return h.toString();
    }

    private static void row(StringBuilder h, String key, String value) {
        h.append("<tr><th>").append(ClassificationReport.esc(key)).append("</th><td>")
                .append(ClassificationReport.esc(value)).append("</td></tr>");
    }
}
