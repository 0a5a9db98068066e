package io.kiln.engine.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.Inference;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A checkpoint's classifier as ONNX bytes, with what a runtime needs beside the graph in its metadata: class
 * names, input shape, normalisation, the evaluation transform, the loss and the epochs trained. The engine's
 * {@code export} command and the service's {@code GET /jobs/{id}/onnx} both write it so.
 */
public final class CheckpointExport {
    private CheckpointExport() {
    }

    /** The ONNX model of {@code ckpt}; {@code source} says where it came from (the model's doc string). */
    public static byte[] onnx(Backend backend, Checkpoint ckpt, String source) {
        try (Inference inference = new Inference(backend, ckpt)) {
            Map<String, JsonNode> meta = new LinkedHashMap<>();
            meta.put("classNames", OnnxExporter.json(inference.classNames()));
            meta.put("inputShape", OnnxExporter.json(inference.sampleShape()));
            meta.put("normalization", ckpt.info().path("normalization"));
            JsonNode transform = ckpt.spec().path("data").path("transform");
            if (!transform.isMissingNode()) {
                meta.put("transform", transform);
            }
            for (String prep : new String[] {"resize", "pad"}) {
                JsonNode v = ckpt.spec().path("data").path(prep);
                if (!v.isMissingNode()) {
                    meta.put(prep, v);
                }
            }
            meta.put("loss", OnnxExporter.json(ckpt.spec().path("loss").asText("softmax_cross_entropy")));
            meta.put("epochs", OnnxExporter.json(ckpt.epoch()));
            String name = ckpt.spec().path("name").asText("kiln");
            return OnnxExporter.export(backend, inference.model(), inference.loss(), meta, name,
                    "exported by Kiln from " + source);
        }
    }
}
