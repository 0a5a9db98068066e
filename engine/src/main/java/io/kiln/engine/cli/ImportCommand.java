package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.DataException;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.weights.PretrainedCheckpoint;
import io.kiln.engine.weights.WeightsException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code import --weights FILE --preset NAME [--classes N] --out FILE.kiln}. */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Makes a Kiln checkpoint from pretrained weights: a PyTorch state_dict saved by torch.save, or a "
                + "safetensors file, named as torchvision names them (conv1.weight, bn1.running_mean, "
                + "layer2.0.downsample.0.weight, fc.weight, ...) for the ResNet presets, or as an nn.Sequential of the "
                + "same layers for the others. Prints one JSON object; a file that does not fit exits 2 naming every "
                + "missing, unexpected and mis-shaped tensor.")
final class ImportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--weights", required = true, paramLabel = "FILE", description = "a torch.save or safetensors file")
    Path weights;

    @Option(names = "--preset", required = true, paramLabel = "NAME", description = "the model, e.g. resnet18")
    String preset;

    @Option(names = "--classes", paramLabel = "N",
            description = "classes of the new model; when they differ from the file's, the last layer is new (default: the file's)")
    Integer classes;

    @Option(names = "--out", required = true, paramLabel = "FILE.kiln", description = "the checkpoint to write")
    Path out;

    @Option(names = "--input", paramLabel = "C,H,W", split = ",", defaultValue = "3,224,224",
            description = "the input images' channels, height and width (default 3,224,224)")
    int[] input;

    @Option(names = "--resize", paramLabel = "N", defaultValue = "-1",
            description = "evaluation images are resized so that their shorter side is N, then cut to their centre "
                    + "H x H (default 8/7 of H: 256 for 224; 0 resizes them straight to H x W)")
    int resize;

    @Option(names = "--normalize", paramLabel = "MODE", defaultValue = "imagenet",
            description = "the input normalisation the weights were trained with: imagenet (torchvision's mean and "
                    + "std, the default), scale (to [0,1]) or none")
    String normalize;

    @Option(names = "--class-names", paramLabel = "FILE", description = "a text file with one class name per line")
    Path classNamesFile;

    @Option(names = "--width", paramLabel = "N", description = "the ResNet presets' first-stage width (default 64)")
    Integer width;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "seeds a new last layer")
    long seed;

    @Override
    public Integer call() {
        JsonLines events = new JsonLines(System.out);
        try {
            if (!Presets.NAMES.contains(preset)) {
                throw new SpecException("preset", "must be one of " + Presets.NAMES + ", got \"" + preset + "\"");
            }
            if (input.length != 3 || input[0] < 1 || input[1] < 1 || input[2] < 1) {
                throw new SpecException("input", "must be three positive sizes C,H,W");
            }
            if (classes != null && classes < 1) {
                throw new SpecException("classes", "must be at least 1");
            }
            List<String> names = classNamesFile == null ? null
                    : Files.readAllLines(classNamesFile, StandardCharsets.UTF_8).stream()
                            .map(String::strip).filter(l -> !l.isEmpty()).toList();
            ObjectNode options = JSON.createObjectNode();
            if (width != null) {
                options.put("width", width);
            }
            int r = resize >= 0 ? resize : Math.round(input[1] * 8 / 7f);
            PretrainedCheckpoint.Imported imported = PretrainedCheckpoint.create(weights, new PretrainedCheckpoint.Options(
                    preset, classes, input, normalize, r, names, seed, options));
            imported.checkpoint().write(out);
            ObjectNode n = events.event("import");
            n.put("out", out.toString());
            n.put("preset", preset);
            n.put("classes", imported.classes());
            n.put("tensors", imported.result().loaded().size());
            n.put("new_head", !imported.result().freshHead().isEmpty());
            n.put("ignored", imported.result().ignored().size());
            events.emit(n);
            if (!imported.result().freshHead().isEmpty()) {
                System.err.println("the last layer is new (" + imported.classes() + " classes): "
                        + String.join(", ", imported.result().freshHead()));
            }
            return 0;
        } catch (WeightsException | SpecException | DataException | Checkpoint.CheckpointException e) {
            return TrainCommand.error(events, e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        } catch (IOException e) {
            return TrainCommand.error(events, "I/O error: " + e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        }
    }
}
