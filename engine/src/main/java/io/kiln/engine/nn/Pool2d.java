package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;

/** Max or average pooling over {@code [C, H, W]} inputs. */
public final class Pool2d extends ScratchLayer {
    private final LayerSpec.Pool2d spec;
    private final PoolGeometry shape;
    private PoolGeometry g;
    private Tensor x;

    public Pool2d(Backend backend, String name, int[] inputShape, LayerSpec.Pool2d spec, String field) {
        super(backend, name);
        this.spec = spec;
        if (inputShape.length != 3) {
            throw new SpecException(field, spec.type() + " needs image inputs [C, H, W], but its input is "
                    + Arrays.toString(inputShape));
        }
        if (inputShape[1] + 2 * spec.padding() < spec.size() || inputShape[2] + 2 * spec.padding() < spec.size()) {
            throw new SpecException(field, "window " + spec.size() + " is larger than the input "
                    + inputShape[1] + "x" + inputShape[2]);
        }
        shape = PoolGeometry.square(1, inputShape[0], inputShape[1], inputShape[2], spec.size(), spec.stride(), spec.padding());
        inShape = inputShape.clone();
        outShape = new int[] {inputShape[0], shape.outH(), shape.outW()};
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        g = g != null && g.n() == input.dim(0) ? g : shape.withBatch(input.dim(0));
        x = input;
        Tensor y = output(input);
        backend.poolForward(spec.mode(), g, input, y);
        return y;
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.poolBackward(spec.mode(), g, x, lastOutput(), dy, dx);
    }
}
