package io.kiln.engine.spec;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.PoolMode;
import java.util.List;

/** One entry of {@code model.layers}. */
public sealed interface LayerSpec {

    /** The value of the layer's {@code "type"} field. */
    String type();

    /** Weight initialisation: He (normal, std sqrt(2/fanIn)) or Xavier/Glorot (uniform, limit sqrt(6/(fanIn+fanOut))). */
    enum Init { HE, XAVIER }

    record Dense(int units, boolean bias, Init init) implements LayerSpec {
        public String type() {
            return "dense";
        }
    }

    record Conv2d(int filters, int kernel, int stride, int padding, boolean bias, Init init) implements LayerSpec {
        public String type() {
            return "conv2d";
        }
    }

    record Pool2d(PoolMode mode, int size, int stride, int padding) implements LayerSpec {
        public String type() {
            return mode == PoolMode.MAX ? "maxpool2d" : "avgpool2d";
        }
    }

    record Act(Activation function) implements LayerSpec {
        public String type() {
            return function.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    record Dropout(double rate) implements LayerSpec {
        public String type() {
            return "dropout";
        }
    }

    record BatchNorm(double momentum, double eps) implements LayerSpec {
        public String type() {
            return "batchnorm";
        }
    }

    record Flatten() implements LayerSpec {
        public String type() {
            return "flatten";
        }
    }

    /** output = body(x) + shortcut(x); an empty shortcut is the identity. */
    record Residual(List<LayerSpec> body, List<LayerSpec> shortcut) implements LayerSpec {
        public String type() {
            return "residual";
        }
    }
}
