package io.kiln.engine.captioning;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.checkpoint.ModelState;
import io.kiln.engine.data.captions.CaptioningData;
import io.kiln.engine.nn.seq.CaptioningModel;
import io.kiln.engine.optim.Optimizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A captioning model's checkpoint: its parameters and optimizer state in the engine's format, and in the info the
 * facts needed to rebuild and use it without the data: {@code kind: "captioning"}, the cell, sizes, feature file
 * and the vocabulary ({@code idx_to_word}).
 */
final class CaptionCheckpoints {
    static final String KIND = "captioning";

    private CaptionCheckpoints() {
    }

    static ObjectNode describe(CaptioningModel model, CaptioningData data) {
        ObjectNode info = JsonNodeFactory.instance.objectNode();
        info.put("kind", KIND);
        info.put("cell", model.options().cell());
        info.put("wordvec", model.options().wordvec());
        info.put("hidden", model.options().hidden());
        info.put("featureDim", model.featureDim());
        info.put("features", data.features());
        info.put("captionLength", data.length());
        ArrayNode words = info.putArray("idx_to_word");
        data.vocabulary().words().forEach(words::add);
        return info;
    }

    static Checkpoint capture(Backend backend, CaptioningModel model, Optimizer optimizer, JsonNode spec, int epoch,
                              long globalStep, ObjectNode info) {
        return ModelState.capture(backend, model.params(), List.of(), optimizer, spec, epoch, globalStep, info);
    }

    /**
     * Loads a checkpoint into a model built for {@code data}; refuses one made for another cell, other sizes or
     * another vocabulary (word indices would mean other words).
     */
    static void restore(Backend backend, Checkpoint ckpt, CaptioningModel model, Optimizer optimizer,
                        CaptioningData data) {
        ObjectNode want = describe(model, data);
        JsonNode have = ckpt.info();
        List<String> differ = new ArrayList<>();
        for (String f : List.of("kind", "cell", "wordvec", "hidden", "featureDim", "idx_to_word")) {
            if (!want.path(f).equals(have.path(f))) {
                differ.add(f);
            }
        }
        if (!differ.isEmpty()) {
            throw new Checkpoint.CheckpointException("the checkpoint does not fit this captioning model and data: its "
                    + differ + " differ (checkpoint " + summary(have) + ", model " + summary(want) + ")");
        }
        ModelState.restore(backend, ckpt, model.params(), optimizer);
    }

    private static String summary(JsonNode i) {
        return i.path("kind").asText("?") + " " + i.path("cell").asText("?") + " wordvec " + i.path("wordvec").asText("?")
                + " hidden " + i.path("hidden").asText("?") + " features " + i.path("featureDim").asText("?")
                + " vocabulary " + i.path("idx_to_word").size();
    }
}
