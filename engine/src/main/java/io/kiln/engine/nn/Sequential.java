package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/** Layers applied one after another. An empty sequence is the identity. */
public class Sequential extends Layer {
    private final List<Layer> layers;
    /** Backward stops before this index: nothing earlier has anything to learn (see {@link #prepareBackward}). */
    private int backwardStart;

    public Sequential(Backend backend, String name, int[] inputShape, List<Layer> layers) {
        super(backend, name);
        this.layers = List.copyOf(layers);
        for (int i = 1; i < this.layers.size(); i++) {
            if (this.layers.get(i) instanceof ActivationLayer a && ownsOutputAlone(this.layers.get(i - 1))) {
                a.setInPlace(true);
            }
        }
        inShape = inputShape.clone();
        outShape = layers.isEmpty() ? inputShape.clone() : layers.get(layers.size() - 1).outputShape();
    }

    /**
     * Whether a layer's output is read by the next layer only and not by its own backward pass, so that the
     * next layer, an activation, may overwrite it. Not an activation or pooling (their backward reads their
     * output), nor a flatten or dropout (their output can be their input, which the layer before them owns).
     */
    private static boolean ownsOutputAlone(Layer l) {
        return l instanceof Conv2d || l instanceof Dense || l instanceof BatchNorm || l instanceof Residual;
    }

    public List<Layer> layers() {
        return layers;
    }

    /**
     * Decides how far back the backward pass must go: no further than the earliest layer with a trainable
     * parameter, unless this sequence's own input gradient is needed. Call after freezing layers or changing
     * needInputGrad.
     */
    public void prepareBackward() {
        int earliest = layers.size();
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).params().stream().anyMatch(p -> !p.frozen())) {
                earliest = i;
                break;
            }
        }
        backwardStart = needInputGrad ? 0 : earliest;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            l.setNeedInputGrad(needInputGrad || i > backwardStart);
            if (l instanceof Sequential s) {
                s.prepareBackward();
            } else if (l instanceof Residual r) {
                r.prepareBackward();
            }
        }
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        Tensor h = x;
        for (Layer l : layers) {
            h = l.forward(h, training);
        }
        return h;
    }

    @Override
    public Tensor backward(Tensor dy) {
        Tensor g = dy;
        for (int i = layers.size() - 1; i >= backwardStart && i >= 0; i--) {
            Tensor next = layers.get(i).backward(g);
            // g is used up unless it is the caller's dy or next is g reshaped (a flatten, an inactive dropout)
            gradients().giveBackUnlessShared(g, dy, next);
            g = next;
        }
        if (!needInputGrad) {
            gradients().giveBackUnlessShared(g, dy);
            return null;
        }
        return g;
    }

    @Override
    public void useGradients(GradientBuffers shared) {
        super.useGradients(shared);
        for (Layer l : layers) {
            l.useGradients(shared);
        }
    }

    @Override
    public List<Param> params() {
        return layers.stream().flatMap(l -> l.params().stream()).toList();
    }

    @Override
    public List<NamedTensor> buffers() {
        return layers.stream().flatMap(l -> l.buffers().stream()).toList();
    }

    @Override
    public void setFrozen(boolean frozen) {
        for (Layer l : layers) {
            l.setFrozen(frozen);
        }
    }

    /** Every layer, depth first, residual blocks' inner layers included. */
    public List<Layer> allLayers() {
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            out.add(l);
            if (l instanceof Sequential s) {
                out.addAll(s.allLayers());
            } else if (l instanceof Residual r) {
                out.addAll(r.body().allLayers());
                out.addAll(r.shortcut().allLayers());
            }
        }
        return out;
    }

    @Override
    public void close() {
        for (Layer l : layers) {
            l.close();
        }
        closeOwnGradients();
    }
}
