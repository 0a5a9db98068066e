package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.PoolMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The built-in models of {@code model.preset}. A preset becomes an ordinary list of layers once the input
 * shape and the number of classes are known, so everything downstream sees one kind of model.
 */
public final class Presets {
    public static final List<String> NAMES = List.of("logistic", "softmax", "svm", "mlp", "lenet", "vgg11", "resnet20",
            "resnet18", "resnet34", "captioning");

    /** Basic blocks per stage of the ImageNet ResNets (He et al. 2016, table 1), as torchvision builds them. */
    public static final Map<String, int[]> RESNET_STAGES = Map.of("resnet18", new int[] {2, 2, 2, 2},
            "resnet34", new int[] {3, 4, 6, 3}, "resnet20", new int[] {3, 3, 3});

    private Presets() {
    }

    /** Checks the options beside {@code preset} in the model object (the first failure names the field). */
    static void checkOptions(String preset, SpecReader r) {
        switch (preset) {
            case "mlp" -> {
                r.intArray("hidden", 0, 64, 1, 1 << 20);
                r.choice("activation", "relu", List.of("relu", "sigmoid", "tanh"));
                r.number("dropout", 0.0, 0.0, false, 0.99);
                r.bool("batchnorm", false);
            }
            case "lenet", "vgg11", "resnet20" -> r.number("dropout", 0.0, 0.0, false, 0.99);
            // width: channels of the first stage (64 in the paper); smaller widths make small test networks
            case "resnet18", "resnet34" -> r.integer("width", 64, 1, 256);
            case "captioning" -> CaptioningOptions.check(r);
            default -> {
                // logistic, softmax and svm are linear models with no options.
            }
        }
        r.finish();
    }

    /**
     * The layers of a preset for inputs of {@code inputShape} (C, H, W or a flat size) and {@code classes}
     * classes. The options were checked at parse time.
     */
    public static List<LayerSpec> expand(String preset, JsonNode options, int[] inputShape, int classes) {
        List<LayerSpec> out = new ArrayList<>();
        LayerSpec.Init he = LayerSpec.Init.HE;
        switch (preset) {
            case "logistic" -> {
                out.add(new LayerSpec.Flatten());
                out.add(new LayerSpec.Dense(1, true, LayerSpec.Init.XAVIER));
            }
            case "softmax", "svm" -> {
                out.add(new LayerSpec.Flatten());
                out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
            }
            case "mlp" -> {
                int[] hidden = {100};
                if (options.has("hidden")) {
                    hidden = new int[options.get("hidden").size()];
                    for (int i = 0; i < hidden.length; i++) {
                        hidden[i] = options.get("hidden").get(i).asInt();
                    }
                }
                Activation act = Activation.valueOf(options.path("activation").asText("relu").toUpperCase(java.util.Locale.ROOT));
                double dropout = options.path("dropout").asDouble(0);
                boolean bn = options.path("batchnorm").asBoolean(false);
                out.add(new LayerSpec.Flatten());
                for (int h : hidden) {
                    out.add(new LayerSpec.Dense(h, !bn, act == Activation.RELU ? he : LayerSpec.Init.XAVIER));
                    if (bn) {
                        out.add(new LayerSpec.BatchNorm(0.1, 1e-5));
                    }
                    out.add(new LayerSpec.Act(act));
                    if (dropout > 0) {
                        out.add(new LayerSpec.Dropout(dropout));
                    }
                }
                out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
            }
            case "lenet" -> {
                requireImage(preset, inputShape, 12);
                // LeCun's net was drawn for 32x32; 28x28 inputs (MNIST) get padding 2 so the shapes agree.
                int pad = inputShape[1] < 32 ? 2 : 0;
                out.add(new LayerSpec.Conv2d(6, 5, 1, pad, true, he));
                out.add(new LayerSpec.Act(Activation.RELU));
                out.add(new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0));
                out.add(new LayerSpec.Conv2d(16, 5, 1, 0, true, he));
                out.add(new LayerSpec.Act(Activation.RELU));
                out.add(new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0));
                out.add(new LayerSpec.Flatten());
                out.add(new LayerSpec.Dense(120, true, he));
                out.add(new LayerSpec.Act(Activation.RELU));
                addDropout(out, options);
                out.add(new LayerSpec.Dense(84, true, he));
                out.add(new LayerSpec.Act(Activation.RELU));
                out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
            }
            case "vgg11" -> {
                requireImage(preset, inputShape, 32);
                int[] plan = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
                for (int p : plan) {
                    if (p == 0) {
                        out.add(new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0));
                    } else {
                        out.add(new LayerSpec.Conv2d(p, 3, 1, 1, false, he));
                        out.add(new LayerSpec.BatchNorm(0.1, 1e-5));
                        out.add(new LayerSpec.Act(Activation.RELU));
                    }
                }
                out.add(new LayerSpec.Flatten());
                addDropout(out, options);
                out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
            }
            case "resnet20" -> {
                requireImage(preset, inputShape, 8);
                out.add(new LayerSpec.Conv2d(16, 3, 1, 1, false, he));
                out.add(new LayerSpec.BatchNorm(0.1, 1e-5));
                out.add(new LayerSpec.Act(Activation.RELU));
                int channels = 16;
                for (int stage = 0; stage < 3; stage++) {
                    int width = 16 << stage;
                    for (int block = 0; block < 3; block++) {
                        out.add(basicBlock(channels, width, stage > 0 && block == 0 ? 2 : 1));
                        out.add(new LayerSpec.Act(Activation.RELU));
                        channels = width;
                    }
                }
                // Global average pooling over what is left of the image.
                int h = ceilDiv(ceilDiv(inputShape[1], 2), 2);
                int w = ceilDiv(ceilDiv(inputShape[2], 2), 2);
                out.add(new LayerSpec.Pool2d(PoolMode.AVERAGE, Math.min(h, w), Math.min(h, w), 0));
                out.add(new LayerSpec.Flatten());
                addDropout(out, options);
                out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
            }
            case "resnet18", "resnet34" -> imagenetResNet(out, preset, RESNET_STAGES.get(preset),
                    options.path("width").asInt(64), inputShape, classes);
            case "captioning" -> throw new SpecException("model.preset", "captioning is a sequence model: it trains on a "
                    + "captioning data set (coco2014_captions.h5 ...), not on images");
            default -> throw new SpecException("model.preset", "unknown preset " + preset);
        }
        return out;
    }

    /**
     * The ImageNet layout of torchvision's ResNet-18/34: a 7x7/2 convolution and a 3x3/2 max pool, four stages of
     * basic blocks (the first block of stages 2 to 4 halves the image, its shortcut a strided 1x1 convolution with
     * batch norm), global average pooling and the fully connected {@code fc}. The layer order is the one
     * {@link io.kiln.engine.nn.ModuleNames} relies on to give each layer its PyTorch name.
     */
    private static void imagenetResNet(List<LayerSpec> out, String preset, int[] stages, int width, int[] inputShape,
                                       int classes) {
        requireImage(preset, inputShape, 32);
        LayerSpec.Init he = LayerSpec.Init.HE;
        out.add(new LayerSpec.Conv2d(width, 7, 2, 3, false, he));
        out.add(new LayerSpec.BatchNorm(0.1, 1e-5));
        out.add(new LayerSpec.Act(Activation.RELU));
        out.add(new LayerSpec.Pool2d(PoolMode.MAX, 3, 2, 1));
        int h = (inputShape[1] + 6 - 7) / 2 + 1;
        int w = (inputShape[2] + 6 - 7) / 2 + 1;
        h = (h + 2 - 3) / 2 + 1;
        w = (w + 2 - 3) / 2 + 1;
        int channels = width;
        for (int stage = 0; stage < stages.length; stage++) {
            int planes = width << stage;
            for (int block = 0; block < stages[stage]; block++) {
                int stride = stage > 0 && block == 0 ? 2 : 1;
                if (stride == 2) {
                    h = (h - 1) / 2 + 1;
                    w = (w - 1) / 2 + 1;
                }
                out.add(basicBlock(channels, planes, stride));
                out.add(new LayerSpec.Act(Activation.RELU));
                channels = planes;
            }
        }
        if (h != w) {
            throw new SpecException("model.preset", "preset " + preset + " pools its last " + h + "x" + w
                    + " feature map globally, which needs square images; the input is "
                    + java.util.Arrays.toString(inputShape) + " (crop it square, e.g. data.transform.centerCrop)");
        }
        out.add(new LayerSpec.Pool2d(PoolMode.AVERAGE, h, h, 0));
        out.add(new LayerSpec.Flatten());
        out.add(new LayerSpec.Dense(classes, true, LayerSpec.Init.XAVIER));
    }

    /**
     * A basic block of He et al.: two 3x3 convolutions with batch norm and a ReLU between them; the shortcut is
     * the identity, or a strided 1x1 convolution with batch norm where the block changes the shape.
     */
    private static LayerSpec.Residual basicBlock(int inChannels, int planes, int stride) {
        LayerSpec.Init he = LayerSpec.Init.HE;
        List<LayerSpec> body = List.of(
                new LayerSpec.Conv2d(planes, 3, stride, 1, false, he),
                new LayerSpec.BatchNorm(0.1, 1e-5),
                new LayerSpec.Act(Activation.RELU),
                new LayerSpec.Conv2d(planes, 3, 1, 1, false, he),
                new LayerSpec.BatchNorm(0.1, 1e-5));
        List<LayerSpec> shortcut = stride == 1 && planes == inChannels ? List.of() : List.of(
                new LayerSpec.Conv2d(planes, 1, stride, 0, false, he),
                new LayerSpec.BatchNorm(0.1, 1e-5));
        return new LayerSpec.Residual(body, shortcut);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void addDropout(List<LayerSpec> out, JsonNode options) {
        double d = options.path("dropout").asDouble(0);
        if (d > 0) {
            out.add(new LayerSpec.Dropout(d));
        }
    }

    /** Refuses images smaller than the preset was drawn for, saying how data.resize or data.pad would fit them. */
    private static void requireImage(String preset, int[] shape, int minSide) {
        if (shape.length != 3 || shape[1] < minSide || shape[2] < minSide) {
            String fix = "";
            if (shape.length == 3) {
                int pad = (minSide - Math.min(shape[1], shape[2]) + 1) / 2;
                fix = "; resize them with \"data\": {\"resize\": [" + Math.max(minSide, shape[1]) + ", "
                        + Math.max(minSide, shape[2]) + "]} (bilinear) or pad them with \"data\": {\"pad\": " + pad
                        + "} (zeros on each side)";
            }
            throw new SpecException("model.preset", "preset " + preset + " needs images of at least " + minSide + "x"
                    + minSide + " (C, H, W), but the input is " + java.util.Arrays.toString(shape) + fix);
        }
    }
}
