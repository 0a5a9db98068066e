package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * One tensor of {@code [n, width]} per time step, kept between calls and reallocated only when the batch size
 * changes or more steps are needed: the per-step states of a recurrent layer. Steps are separate tensors, so each
 * time step's matrix products take whole tensors (the backend has no offset views).
 */
final class StepTensors implements AutoCloseable {
    private final Backend backend;
    private final int width;
    private final List<Tensor> steps = new ArrayList<>();
    private int n = -1;

    StepTensors(Backend backend, int width) {
        this.backend = backend;
        this.width = width;
    }

    /** Makes sure {@code count} steps of batch {@code batch} exist. */
    void ensure(int batch, int count) {
        if (batch != n) {
            close();
            n = batch;
        }
        while (steps.size() < count) {
            steps.add(backend.allocate(n, width));
        }
    }

    Tensor get(int t) {
        return steps.get(t);
    }

    /** The first {@code count} steps. */
    List<Tensor> first(int count) {
        return List.copyOf(steps.subList(0, count));
    }

    @Override
    public void close() {
        for (Tensor t : steps) {
            t.close();
        }
        steps.clear();
        n = -1;
    }
}
