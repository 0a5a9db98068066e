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
    void everyImageShowsEveryClassScoreUpToTwentyClasses() {
        float[] scores = {0.8f, 0.1f, 0.1f, 0.6f, 0.3f, 0.1f, 0.1f, 0.2f, 0.7f, 0.2f, 0.5f, 0.3f};
        String html = new ClassificationReport(four(), scores, LossKind.SOFTMAX_CROSS_ENTROPY)
                .html("run", List.of(), 4);
        // four first images, two misclassified: each figure a table of the three classes with a bar and the score
        assertEquals(6, count(html, "<table class=\"scores\">"));
        assertEquals(18, count(html, "<meter min=\"0.0\" max=\"1.0\""));
        String second = html.split("<figure")[2];
        assertTrue(second.contains("<tr class=\"p\"><td>cat</td><td><meter min=\"0.0\" max=\"1.0\" value=\"0.6000000238418579\"></meter></td><td>0.600</td>"),
                "the predicted class in bold: " + second);
        assertTrue(second.contains("<tr class=\"t\"><td>dog</td>") && second.contains("<td>0.300</td>") && second.contains("<td>0.100</td>"),
                "the true class marked, and the third score: " + second);
        assertTrue(html.contains("every class's probabilities"));
        assertTrue(html.contains("<table class=\"confusion\">") && html.contains("<th>accuracy</th>"),
                "the confusion matrix and per-class accuracy stay");
    }

    @Test
    void beyondTwentyClassesTheFiveHighestAreShown() {
        int k = 21;
        List<String> names = new java.util.ArrayList<>();
        for (int c = 0; c < k; c++) {
            names.add("c" + c);
        }
        Dataset d = Dataset.of(new byte[4], new int[] {3}, new int[] {1, 2, 2}, names);
        float[] scores = new float[k];
        for (int c = 0; c < k; c++) {
            scores[c] = (c * 8 % k) / 100f;  // 8 and 21 are coprime: 21 distinct scores
        }
        ClassificationReport r = new ClassificationReport(d, scores, LossKind.SOFTMAX_CROSS_ENTROPY);
        int[] shown = r.scoresShown(0);
        assertEquals(5, shown.length);
        for (int i = 1; i < shown.length; i++) {
            assertTrue(scores[shown[i - 1]] >= scores[shown[i]], "highest first");
        }
        for (int c = 0; c < k; c++) {
            final int cls = c;
            boolean isShown = java.util.Arrays.stream(shown).anyMatch(s -> s == cls);
            if (!isShown) {
                assertTrue(scores[c] <= scores[shown[4]], "c" + c + " is not among the five highest");
            }
        }
        String html = r.html("many", List.of(), 1);
        assertEquals(5, count(html.split("<figure")[1], "<meter"));
        assertTrue(html.contains("5 highest probabilities (of 21 classes)"));
    }

    @Test
    void rawScoresAreBarsBetweenTheImagesLowestAndHighest() {
        float[] scores = {2f, -1f, 0.5f, 0f, 1f, 3f, 0f, 0f, 0f, 1f, 1f, 1f};
        String html = new ClassificationReport(four(), scores, LossKind.MULTICLASS_HINGE).html("svm", List.of(), 1);
        assertTrue(html.contains("<meter min=\"-1.0\" max=\"2.0\" value=\"2.0\">"), html);
        assertTrue(html.contains("every class's raw scores"));
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
