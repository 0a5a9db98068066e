package io.kiln.engine.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.LossKind;
import io.kiln.engine.data.Dataset;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ClassificationReportTest {
    /** Four 1x2x2 images labelled 0, 1, 2, 2. */
    static Dataset four() {
        return Dataset.of(new byte[16], new int[] {0, 1, 2, 2}, new int[] {1, 2, 2}, List.of("cat", "dog", "<bird>"));
    }

    @Test
    void confusionMatrixAndPerClassAccuracy() {
        float[] scores = {
            0.8f, 0.1f, 0.1f,   // true 0, predicted 0
            0.6f, 0.3f, 0.1f,   // true 1, predicted 0
            0.1f, 0.2f, 0.7f,   // true 2, predicted 2
            0.2f, 0.5f, 0.3f};  // true 2, predicted 1
        ClassificationReport r = new ClassificationReport(four(), scores, LossKind.SOFTMAX_CROSS_ENTROPY);
        assertArrayEquals(new int[] {1, 0, 0}, r.confusion()[0]);
        assertArrayEquals(new int[] {1, 0, 0}, r.confusion()[1]);
        assertArrayEquals(new int[] {0, 1, 1}, r.confusion()[2]);
        assertEquals(0.5, r.accuracy());
        assertArrayEquals(new double[] {1.0, 0.0, 0.5}, r.perClassAccuracy());
        assertEquals(1, r.predicted(3));
        assertEquals(0.5, r.summary().get("accuracy").asDouble());
    }

    @Test
    void htmlIsSelfContainedAndEscaped() {
        float[] scores = {0.8f, 0.1f, 0.1f, 0.6f, 0.3f, 0.1f, 0.1f, 0.2f, 0.7f, 0.2f, 0.5f, 0.3f};
        String html = new ClassificationReport(four(), scores, LossKind.SOFTMAX_CROSS_ENTROPY)
                .html("run <1>", List.<String[]>of(new String[] {"job", "a&b"}), 3);
        assertTrue(html.contains("run &lt;1&gt;") && html.contains("a&amp;b") && html.contains("&lt;bird&gt;"));
        assertTrue(!html.contains("<bird>"), "class names are escaped");
        assertEquals(3 + 2, count(html, "<figure"), "three first images and the two misclassified");
        assertEquals(5, count(html, "src=\"data:image/png;base64,"), "images inlined");
        assertTrue(!html.contains("http://") && !html.contains("https://"), "no external resource");
        // Only the one fixed style block, so that a Content-Security-Policy allows it by its hash: no style
        // attribute, no script.
        assertTrue(!html.contains("style=") && !html.contains("<script"), "no inline style attribute or script");
        assertEquals(1, count(html, "<style>"));
        assertTrue(html.contains("<style>" + ClassificationReport.CSS + "</style>"));
        assertTrue(html.contains("<td class=\"g") && ClassificationReport.CSS.contains("td.g20{background:rgba(46,125,50,1.00)}"),
                "confusion cells are shaded by class");
    }

    @Test
    void logisticScoresBecomeTwoClasses() {
        Dataset d = Dataset.of(new byte[8], new int[] {0, 1}, new int[] {1, 2, 2}, List.of("no", "yes"));
        ClassificationReport r = new ClassificationReport(d, new float[] {0.2f, 0.9f}, LossKind.LOGISTIC);
        assertEquals(1.0, r.accuracy());
        assertEquals(0.8, r.predictions(List.of("a", "b")).get(0).get("scores").get("no").asDouble(), 1e-6);
    }

    private static int count(String s, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
