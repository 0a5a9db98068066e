package io.kiln.engine.train;

/** Training stopped for a reason the user can act on; the message says what happened and what to try. */
public class TrainingException extends RuntimeException {
    public TrainingException(String message) {
        super(message);
    }

    /** The loss became NaN or infinite. */
    public static final class Diverged extends TrainingException {
        public Diverged(String message) {
            super(message);
        }
    }
}
