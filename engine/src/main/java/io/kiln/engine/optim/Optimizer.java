package io.kiln.engine.optim;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.List;

/**
 * Applies one update to every trainable parameter from its gradient. The per-parameter state (velocity,
 * squared averages, Adam moments) lives in {@link Param#optimizerState()} so checkpoints can save it with the
 * weights.
 */
public final class Optimizer {
    private final Backend backend;
    private final JobSpec.Optimizer spec;
    private long step;

    public Optimizer(Backend backend, JobSpec.Optimizer spec) {
        this.backend = backend;
        this.spec = spec;
    }

    /** How many state tensors each parameter needs (each of the parameter's shape). */
    public int stateSlots() {
        return switch (spec.type()) {
            case "sgd" -> spec.momentum() > 0 ? 1 : 0;
            case "rmsprop" -> 1;
            case "adam" -> 2;
            default -> throw new IllegalStateException(spec.type());
        };
    }

    /** Allocates zeroed state for parameters that have none yet. */
    public void initState(List<Param> params) {
        int slots = stateSlots();
        for (Param p : params) {
            if (p.optimizerState().length != slots) {
                Tensor[] state = new Tensor[slots];
                for (int i = 0; i < slots; i++) {
                    state[i] = backend.allocate(p.value().shape());
                }
                p.setOptimizerState(state);
            }
        }
    }

    /** Number of updates applied so far (Adam's bias correction uses it). */
    public long steps() {
        return step;
    }

    public void setSteps(long steps) {
        this.step = steps;
    }

    public void step(List<Param> params, float lr) {
        step++;
        float wd = (float) spec.weightDecay();
        for (Param p : params) {
            if (p.frozen()) {
                continue;
            }
            Tensor[] s = p.optimizerState();
            switch (spec.type()) {
                case "sgd" -> backend.sgdUpdate(p.value(), p.grad(), s.length > 0 ? s[0] : null, lr,
                        (float) spec.momentum(), spec.nesterov(), wd);
                case "rmsprop" -> backend.rmspropUpdate(p.value(), p.grad(), s[0], lr, (float) spec.alpha(),
                        (float) spec.eps(), wd);
                case "adam" -> backend.adamUpdate(p.value(), p.grad(), s[0], s[1], lr, (float) spec.beta1(),
                        (float) spec.beta2(), (float) spec.eps(), wd, step);
                default -> throw new IllegalStateException(spec.type());
            }
        }
    }
}
