package io.kiln.engine.train;

import io.kiln.engine.checkpoint.Checkpoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Fine-tuning reuses a checkpoint's last layer only where its outputs mean the dataset's classes. The checkpoint
 * names its classes ({@code info.classNames}); the same names in another order make the head's output rows
 * reordered to the dataset's order; other names leave the head as it is, with a warning for the log.
 */
final class ClassOrder {
    /** What was found: the checkpoint to load (reordered or the same), and a line for the log ({@code null}: none). */
    record Match(Checkpoint checkpoint, String note) {
    }

    private ClassOrder() {
    }

    /**
     * @param headParams the names of the last layer's parameters (their first axis is the output, one row a class)
     * @param classes    the dataset's class names, in label order
     */
    static Match match(Checkpoint checkpoint, List<String> headParams, List<String> classes) {
        List<String> theirs = new ArrayList<>();
        checkpoint.info().path("classNames").forEach(n -> theirs.add(n.asText()));
        if (theirs.isEmpty() || theirs.equals(classes)) {
            return new Match(checkpoint, null);
        }
        Set<String> same = new HashSet<>(theirs);
        if (theirs.size() != classes.size() || !same.equals(new HashSet<>(classes)) || same.size() != theirs.size()) {
            return new Match(checkpoint, "warning: the checkpoint's classes " + theirs + " are not the dataset's "
                    + classes + "; its last layer is reused as it is, so its outputs first mean the checkpoint's classes");
        }
        int[] from = new int[classes.size()];
        for (int c = 0; c < classes.size(); c++) {
            from[c] = theirs.indexOf(classes.get(c));
        }
        List<Checkpoint.Entry> entries = new ArrayList<>();
        for (Checkpoint.Entry e : checkpoint.tensors().values()) {
            entries.add(headParams.contains(e.name()) && e.shape().length > 0 && e.shape()[0] == classes.size()
                    ? reorder(e, from) : e);
        }
        Checkpoint reordered = new Checkpoint(checkpoint.spec(), checkpoint.epoch(), checkpoint.globalStep(),
                checkpoint.optimizerSteps(), checkpoint.info(), entries);
        return new Match(reordered, "the checkpoint's classes are the dataset's in another order " + theirs
                + "; the last layer's outputs were reordered to the dataset's " + classes);
    }

    /** Row c of the result is row from[c] of the entry (a row: everything after the first axis). */
    private static Checkpoint.Entry reorder(Checkpoint.Entry e, int[] from) {
        int row = e.data().length / e.shape()[0];
        float[] out = new float[e.data().length];
        for (int c = 0; c < from.length; c++) {
            System.arraycopy(e.data(), from[c] * row, out, c * row, row);
        }
        return new Checkpoint.Entry(e.name(), e.kind(), e.shape(), out);
    }
}
