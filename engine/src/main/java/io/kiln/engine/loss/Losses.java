package io.kiln.engine.loss;

import io.kiln.engine.backend.LossKind;
import io.kiln.engine.spec.SpecException;
import java.util.Arrays;

/** Maps the spec's loss names to backend losses and checks that the model's output fits the loss and data. */
public final class Losses {
    private Losses() {
    }

    public static LossKind of(String name) {
        return switch (name) {
            case "softmax_cross_entropy" -> LossKind.SOFTMAX_CROSS_ENTROPY;
            case "multiclass_hinge" -> LossKind.MULTICLASS_HINGE;
            case "logistic" -> LossKind.LOGISTIC;
            case "mse" -> LossKind.MSE;
            default -> throw new SpecException("loss", "unknown loss \"" + name + "\"");
        };
    }

    /** Rejects a model whose output cannot be scored by the loss against labels of {@code classes} classes. */
    public static void checkOutput(LossKind kind, int[] outputShape, int classes, String dataName) {
        if (outputShape.length != 1) {
            throw new SpecException("model", "the model must end in a flat output (e.g. a dense layer), but it ends in "
                    + Arrays.toString(outputShape));
        }
        int units = outputShape[0];
        switch (kind) {
            case LOGISTIC -> {
                if (units != 1) {
                    throw new SpecException("loss", "logistic needs a model with 1 output, but it has " + units);
                }
                if (classes != 2) {
                    throw new SpecException("loss", "logistic needs a dataset with 2 classes, but " + dataName
                            + " has " + classes + "; use softmax_cross_entropy");
                }
            }
            case MSE -> {
                if (units != classes && units != 1) {
                    throw new SpecException("model", "mse needs one output per class (" + classes + ") or a single"
                            + " output, but the model has " + units);
                }
            }
            default -> {
                if (units != classes) {
                    throw new SpecException("model", "the model has " + units + " outputs but " + dataName + " has "
                            + classes + " classes; make the last dense layer's units " + classes);
                }
            }
        }
    }
}
