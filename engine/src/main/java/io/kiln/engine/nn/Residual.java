package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** y = body(x) + shortcut(x), the shortcut being the identity when it has no layers. */
public final class Residual extends ScratchLayer {
    private final Sequential body;
    private final Sequential shortcut;
    /** The body's and the shortcut's input gradients of the current backward pass. */
    private Tensor bodyGrad;
    private Tensor shortcutGrad;

    public Residual(Backend backend, String name, int[] inputShape, Sequential body, Sequential shortcut) {
        super(backend, name);
        this.body = body;
        this.shortcut = shortcut;
        inShape = inputShape.clone();
        outShape = body.outputShape();
    }

    public Sequential body() {
        return body;
    }

    public Sequential shortcut() {
        return shortcut;
    }

    void prepareBackward() {
        body.setNeedInputGrad(needInputGrad);
        shortcut.setNeedInputGrad(needInputGrad);
        body.prepareBackward();
        shortcut.prepareBackward();
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        Tensor a = body.forward(x, training);
        Tensor b = shortcut.forward(x, training);
        Tensor y = output(x);
        backend.add(a, b, y);
        return y;
    }

    @Override
    protected void parameterGradients(Tensor dy) {
        bodyGrad = body.backward(dy);
        shortcutGrad = shortcut.backward(dy);
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.add(bodyGrad, shortcutGrad, dx);
        // an identity shortcut's gradient is dy itself, which stays the caller's
        gradients().giveBackUnlessShared(bodyGrad, dy);
        gradients().giveBackUnlessShared(shortcutGrad, dy);
        bodyGrad = null;
        shortcutGrad = null;
    }

    @Override
    public void useGradients(GradientBuffers shared) {
        super.useGradients(shared);
        body.useGradients(shared);
        shortcut.useGradients(shared);
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(body.params());
        ps.addAll(shortcut.params());
        return ps;
    }

    @Override
    public List<NamedTensor> buffers() {
        List<NamedTensor> bs = new ArrayList<>(body.buffers());
        bs.addAll(shortcut.buffers());
        return bs;
    }

    @Override
    public void setFrozen(boolean frozen) {
        body.setFrozen(frozen);
        shortcut.setFrozen(frozen);
    }

    @Override
    public void close() {
        body.close();
        shortcut.close();
        closeScratch();
        closeOwnGradients();
    }
}
