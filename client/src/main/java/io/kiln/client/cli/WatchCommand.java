package io.kiln.client.cli;

import io.kiln.client.JobView;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "watch", mixinStandardHelpOptions = true,
        description = "Shows a live progress bar (epoch, loss, accuracy, ETA) until the job ends; exits 0 when it "
                + "succeeds, 1 when it fails or is cancelled.")
final class WatchCommand extends JobCommandBase {
    static final int BAR = 30;

    @Option(names = "--interval", defaultValue = "1.0", paramLabel = "SECONDS", description = "poll interval (default ${DEFAULT-VALUE} s)")
    double interval;

    @Option(names = "--plain", description = "one line per change instead of a bar redrawn in place (the default when the "
            + "output is not a terminal)")
    boolean plain;

    @Override
    public Integer call() throws InterruptedException {
        checkInterval(interval);
        boolean redraw = !plain && System.console() != null;
        long firstSeen = 0;
        double firstFraction = -1;
        String lastKey = "";
        int width = 0;
        while (true) {
            JobView j = new JobView(client().job(id));
            long now = System.nanoTime();
            double f = j.fraction();
            if (j.state().equals("RUNNING") && firstFraction < 0) {
                firstFraction = f;
                firstSeen = now;
            }
            double eta = Double.NaN;
            if (firstFraction >= 0 && f > firstFraction) {
                eta = (1 - f) * (now - firstSeen) / 1e9 / (f - firstFraction);
            }
            String line = line(j, eta);
            if (redraw) {
                out().print("\r" + line + " ".repeat(Math.max(0, width - line.length())));
                out().flush();
                width = line.length();
            } else {
                String key = j.state() + "/" + j.epoch();
                if (!key.equals(lastKey)) {
                    out().println(line);
                    lastKey = key;
                }
            }
            if (j.finished()) {
                if (redraw) {
                    out().println();
                }
                if (j.state().equals("SUCCEEDED")) {
                    double acc = j.metric("test_acc");
                    out().println("job " + j.id() + " succeeded" + (Double.isNaN(acc) ? "" : String.format(Locale.ROOT,
                            ", test accuracy %.4f", acc)));
                    return 0;
                }
                err().println("job " + j.id() + " " + j.state().toLowerCase(Locale.ROOT)
                        + (j.error().isEmpty() ? "" : ": " + j.error()));
                return 1;
            }
            Thread.sleep((long) (interval * 1000));
        }
    }

    static String line(JobView j, double etaSeconds) {
        int filled = (int) Math.round(j.fraction() * BAR);
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "job %s %-9s [%s%s] %3.0f%%", j.id(), j.state(), "#".repeat(filled),
                "-".repeat(BAR - filled), 100 * j.fraction()));
        if (j.epochs() > 0) {
            s.append(String.format(Locale.ROOT, " epoch %d/%d", Math.max(j.epoch(), 1), j.epochs()));
        }
        appendMetric(s, "loss", j.metric("loss"));
        appendMetric(s, "train_acc", j.metric("train_acc"));
        appendMetric(s, "val_acc", j.metric("val_acc"));
        if (!Double.isNaN(etaSeconds) && !j.finished()) {
            long e = Math.round(etaSeconds);
            s.append(String.format(Locale.ROOT, " ETA %d:%02d", e / 60, e % 60));
        }
        return s.toString();
    }

    private static void appendMetric(StringBuilder s, String name, double v) {
        if (!Double.isNaN(v)) {
            s.append(String.format(Locale.ROOT, " %s %.4f", name, v));
        }
    }
}
