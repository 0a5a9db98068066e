package io.kiln.engine.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.Param;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Moves a model's weights, buffers and optimizer state between a backend and a {@link Checkpoint}. */
public final class ModelState {
    private ModelState() {
    }

    public static Checkpoint capture(Backend backend, Model model, Optimizer optimizer, JsonNode spec, int epoch,
                                     long globalStep, ObjectNode info) {
        return capture(backend, model.params(), model.buffers(), optimizer, spec, epoch, globalStep, info);
    }

    /** The same for any set of parameters and buffers (models that are not a {@link Model}: the captioning one). */
    public static Checkpoint capture(Backend backend, List<Param> params, List<Layer.NamedTensor> buffers,
                                     Optimizer optimizer, JsonNode spec, int epoch, long globalStep, ObjectNode info) {
        List<Checkpoint.Entry> entries = new ArrayList<>();
        for (Param p : params) {
            entries.add(entry(backend, p.name(), Checkpoint.Kind.PARAM, p.value()));
        }
        for (Layer.NamedTensor b : buffers) {
            entries.add(entry(backend, b.name(), Checkpoint.Kind.BUFFER, b.tensor()));
        }
        if (optimizer != null) {
            for (Param p : params) {
                Tensor[] state = p.optimizerState();
                for (int i = 0; i < state.length; i++) {
                    entries.add(entry(backend, p.name() + ".state" + i, Checkpoint.Kind.OPTIMIZER, state[i]));
                }
            }
        }
        return new Checkpoint(spec, epoch, globalStep, optimizer == null ? 0 : optimizer.steps(), info, entries);
    }

    private static Checkpoint.Entry entry(Backend backend, String name, Checkpoint.Kind kind, Tensor t) {
        return new Checkpoint.Entry(name, kind, t.shape(), backend.toHost(t));
    }

    /**
     * Loads weights and buffers into the model; with an optimizer, its state too. Every parameter of the model
     * must be in the checkpoint with the same shape, except those named in {@code skip} (a replaced head).
     */
    public static void restore(Backend backend, Checkpoint ckpt, Model model, Optimizer optimizer, List<String> skip) {
        for (Param p : model.params()) {
            if (skip.contains(p.name())) {
                continue;
            }
            load(backend, ckpt, p.name(), p.value());
        }
        for (Layer.NamedTensor b : model.buffers()) {
            if (skip.stream().noneMatch(s -> b.name().startsWith(layerOf(s)))) {
                load(backend, ckpt, b.name(), b.tensor());
            }
        }
        if (optimizer != null) {
            restoreOptimizer(backend, ckpt, model.params(), optimizer);
        }
    }

    /** Loads the given parameters (all of them must be in the checkpoint) and, with an optimizer, its state. */
    public static void restore(Backend backend, Checkpoint ckpt, List<Param> params, Optimizer optimizer) {
        for (Param p : params) {
            load(backend, ckpt, p.name(), p.value());
        }
        if (optimizer != null) {
            restoreOptimizer(backend, ckpt, params, optimizer);
        }
    }

    private static void restoreOptimizer(Backend backend, Checkpoint ckpt, List<Param> params, Optimizer optimizer) {
        optimizer.initState(params);
        for (Param p : params) {
            Tensor[] state = p.optimizerState();
            for (int i = 0; i < state.length; i++) {
                load(backend, ckpt, p.name() + ".state" + i, state[i]);
            }
        }
        optimizer.setSteps(ckpt.optimizerSteps());
    }

    private static String layerOf(String paramName) {
        int dot = paramName.lastIndexOf('.');
        return dot < 0 ? paramName : paramName.substring(0, dot + 1);
    }

    private static void load(Backend backend, Checkpoint ckpt, String name, Tensor into) {
        Checkpoint.Entry e = ckpt.tensor(name);
        if (e == null) {
            throw new Checkpoint.CheckpointException("the checkpoint has no tensor " + name
                    + " (was it trained with a different model?)");
        }
        if (!Arrays.equals(e.shape(), into.shape())) {
            throw new Checkpoint.CheckpointException("tensor " + name + " is " + Arrays.toString(e.shape())
                    + " in the checkpoint but " + Arrays.toString(into.shape()) + " in the model");
        }
        backend.upload(e.data(), into);
    }
}
