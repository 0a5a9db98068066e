package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cuda.CudaException;
import io.kiln.engine.backend.cuda.CudaOutOfMemoryException;
import io.kiln.engine.captioning.CaptionTrainer;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.captions.CaptioningData;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.data.DataException;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Trainer;
import io.kiln.engine.weights.WeightFiles;
import io.kiln.engine.weights.WeightTensor;
import io.kiln.engine.weights.WeightsException;
import io.kiln.engine.data.PreparedData;
import io.kiln.engine.train.TrainingException;
import io.kiln.engine.train.TrainingListener;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code train --spec FILE [--data-root DIR] [--device D] [--out DIR] [--resume]}. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Trains one job spec, printing one JSON object per line: start, step, epoch, checkpoint, done "
                + "(or error). Exit codes: 0 done, 2 bad spec or data, 3 out of memory (Java heap or GPU), 4 a fatal "
                + "device error, 5 the loss diverged, 1 anything else.")
final class TrainCommand implements Callable<Integer> {
    static final int EXIT_BAD_INPUT = ExitCodes.BAD_INPUT;
    static final int EXIT_OUT_OF_MEMORY = ExitCodes.OUT_OF_MEMORY;
    static final int EXIT_DEVICE_FATAL = ExitCodes.DEVICE_FATAL;
    static final int EXIT_DIVERGED = ExitCodes.DIVERGED;

    /** Makes the backend for a device name and precision: {@link Backends#create}, or a stand-in in tests. */
    @FunctionalInterface
    interface BackendFactory {
        Backend create(String device, Precision precision);
    }

    private final BackendFactory backends;

    TrainCommand() {
        this(Backends::create);
    }

    TrainCommand(BackendFactory backends) {
        this.backends = backends;
    }

    @Option(names = "--spec", required = true, paramLabel = "FILE", description = "job spec (JSON)")
    Path specFile;

    @Option(names = "--data-root", paramLabel = "DIR",
            description = "folder holding the datasets (default: $KILN_DATA_ROOT, else $KILN_HOME/data, else ~/.kiln/data)")
    Path dataRoot;

    @Option(names = "--device", paramLabel = "D", description = "auto, cpu, cuda or cuda:N (default: the spec's device)")
    String device;

    @Option(names = "--out", paramLabel = "DIR",
            description = "folder for the checkpoint written after every epoch (" + Trainer.CHECKPOINT_FILE
                    + ") and a copy of the events (" + Trainer.EVENTS_FILE + "); without it nothing is saved")
    Path out;

    @Option(names = "--resume", description = "continue after the checkpoint in --out if there is one")
    boolean resume;

    @Option(names = "--init-checkpoint", paramLabel = "FILE",
            description = "the checkpoint that the spec's init.fromJob names (the service resolves job ids to files)")
    Path initCheckpoint;

    @Option(names = "--init-weights", paramLabel = "FILE",
            description = "the PyTorch or safetensors weights that the spec's init.model names (the service resolves "
                    + "model names to files)")
    Path initWeights;

    @Override
    public Integer call() {
        JsonLines events = new JsonLines(System.out);
        try {
            String text;
            try {
                text = Files.readString(specFile, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                return error(events, "spec file not found: " + specFile.toAbsolutePath(), EXIT_BAD_INPUT);
            }
            JobSpec spec = SpecParser.parse(text);
            Checkpoint checkpoint = null;
            if (resume) {
                if (out == null) {
                    return error(events, "--resume needs --out (the folder holding " + Trainer.CHECKPOINT_FILE + ")",
                            EXIT_BAD_INPUT);
                }
                Path file = out.resolve(Trainer.CHECKPOINT_FILE);
                if (Files.exists(file)) {
                    checkpoint = Checkpoint.read(file);
                }
            }
            Path root = dataRoot != null ? dataRoot : EngineDefaults.dataRoot();
            String dev = device != null ? device : spec.device();
            if (CaptioningOptions.PRESET.equals(spec.model().preset())) {
                return captioning(spec, root, dev, checkpoint, events);
            }
            PreparedData data = Trainer.loadData(spec, root);
            copyEvents(events);
            Checkpoint init = checkpoint == null ? initialWeights(spec) : null;
            Map<String, WeightTensor> pretrained = checkpoint == null ? pretrainedWeights(spec) : null;
            try (Backend backend = backends.create(dev, Precision.parse(spec.training().precision()));
                 Trainer trainer = new Trainer(spec, backend, data)) {
                if (backend instanceof CpuBackend cpu) {
                    // whether the Vector API was there: the same job runs 1.5x (ResNet20) slower without it
                    System.err.println(cpu.name() + ": " + cpu.convolutionPath());
                }
                if (init != null) {
                    trainer.startFrom(init);
                    System.err.println("starting from the weights of " + (spec.init().fromJob() != null
                            ? "job " + spec.init().fromJob() : spec.init().checkpoint())
                            + (trainer.replacedHead() ? " with a new last layer" : ""));
                    if (trainer.classNote() != null) {
                        System.err.println(trainer.classNote());
                    }
                    long[] counts = trainer.parameterCounts();
                    System.err.println("parameters: " + counts[0] + " trainable, " + counts[1] + " frozen");
                }
                if (pretrained != null) {
                    trainer.startFrom(pretrained, "model " + spec.init().model());
                    System.err.println("starting from the pretrained weights of model " + spec.init().model()
                            + (trainer.replacedHead() ? " with a new last layer" : ""));
                }
                trainer.run(new JsonListener(events), out, checkpoint);
            }
            return 0;
        } catch (SpecException | DataException | Checkpoint.CheckpointException | Backends.DeviceUnavailableException e) {
            return error(events, e.getMessage(), EXIT_BAD_INPUT);
        } catch (TrainingException.Diverged e) {
            return error(events, e.getMessage(), EXIT_DIVERGED);
        } catch (CudaOutOfMemoryException e) {
            return error(events, "GPU out of memory: " + e.getMessage(), EXIT_OUT_OF_MEMORY);
        } catch (CudaException e) {
            // A device error: the service fails the job with this message; a fatal one also marks the GPU suspect.
            e.printStackTrace(System.err);
            return error(events, e.getMessage(), e.fatal() ? EXIT_DEVICE_FATAL : 1);
        } catch (IOException e) {
            return error(events, "I/O error: " + e.getMessage(), 1);
        } catch (OutOfMemoryError e) {
            // Reached only without -XX:+ExitOnOutOfMemoryError (the engine run by hand): the failed allocation is
            // garbage by now, so there is room to say so.
            return error(events, "Java heap out of memory: " + e.getMessage() + " (-Xmx " + Runtime.getRuntime().maxMemory()
                    + " bytes)", EXIT_OUT_OF_MEMORY);
        } catch (RuntimeException e) {
            e.printStackTrace(System.err);
            return error(events, e.getClass().getSimpleName() + ": " + e.getMessage(), 1);
        }
    }

    private void copyEvents(JsonLines events) throws IOException {
        if (out != null) {
            Files.createDirectories(out);
            events.copyTo(out.resolve(Trainer.EVENTS_FILE));
        }
    }

    /** A captioning job: its own data, model and trainer, the same events and checkpoint file. */
    private int captioning(JobSpec spec, Path root, String dev, Checkpoint checkpoint, JsonLines events)
            throws IOException {
        if (spec.init() != null) {
            throw new SpecException("init", "captioning jobs start from fresh weights (or --resume); init is for "
                    + "classifiers");
        }
        CaptioningData data = CaptionTrainer.loadData(spec, root);
        copyEvents(events);
        try (Backend backend = backends.create(dev, Precision.parse(spec.training().precision()));
             CaptionTrainer trainer = new CaptionTrainer(spec, backend, data)) {
            trainer.run(new JsonListener(events), out, checkpoint);
        }
        return 0;
    }

    /** The checkpoint that the spec's {@code init} names, or null without one. */
    private Checkpoint initialWeights(JobSpec spec) throws IOException {
        if (spec.init() == null || spec.init().model() != null) {
            return null;
        }
        Path file;
        if (spec.init().fromJob() != null) {
            if (initCheckpoint == null) {
                throw new SpecException("init.fromJob", "names a job, which only the service can resolve; on the "
                        + "command line give init.checkpoint or --init-checkpoint FILE");
            }
            file = initCheckpoint;
        } else {
            file = Path.of(spec.init().checkpoint());
        }
        if (!Files.isRegularFile(file)) {
            throw new SpecException(spec.init().fromJob() != null ? "init.fromJob" : "init.checkpoint",
                    "checkpoint file not found: " + file.toAbsolutePath());
        }
        return Checkpoint.read(file);
    }

    /** The pretrained weights that the spec's {@code init.model} names, or null without one. */
    private Map<String, WeightTensor> pretrainedWeights(JobSpec spec) throws IOException {
        if (spec.init() == null || spec.init().model() == null) {
            return null;
        }
        if (initWeights == null) {
            throw new SpecException("init.model", "names an uploaded model, which only the service can resolve; on the "
                    + "command line give --init-weights FILE, or make a checkpoint with import and give init.checkpoint");
        }
        try {
            return WeightFiles.read(initWeights);
        } catch (WeightsException e) {
            throw new SpecException("init.model", e.getMessage());
        }
    }

    /** Prints an error event (and the message on stderr) and returns the exit code. */
    static int error(JsonLines events, String message, int code) {
        ObjectNode n = events.event("error");
        n.put("message", message);
        events.emit(n);
        System.err.println("error: " + message);
        return code;
    }

    /** Prints the trainer's progress as CONTRACT.md's JSON lines, and a human log on stderr. */
    static final class JsonListener implements TrainingListener {
        private final JsonLines events;

        JsonListener(JsonLines events) {
            this.events = events;
        }

        @Override
        public void onStart(Start s) {
            ObjectNode n = events.event("start");
            n.put("device", s.device());
            n.put("epochs", s.epochs());
            n.put("steps_per_epoch", s.stepsPerEpoch());
            n.put("start_epoch", s.startEpoch());
            n.put("parameters", s.parameters());
            n.put("train_samples", s.trainSamples());
            n.put("val_samples", s.validationSamples());
            n.put("test_samples", s.testSamples());
            events.emit(n);
            log("training on " + s.device() + ": " + s.parameters() + " parameters, " + s.trainSamples()
                    + " training samples, " + s.stepsPerEpoch() + " steps per epoch");
        }

        @Override
        public void onStep(Step s) {
            ObjectNode n = events.event("step");
            n.put("epoch", s.epoch());
            n.put("step", s.step());
            n.put("steps", s.steps());
            JsonLines.number(n, "loss", s.loss());
            JsonLines.number(n, "lr", s.lr());
            events.emit(n);
        }

        @Override
        public void onEpoch(Epoch e) {
            ObjectNode n = events.event("epoch");
            n.put("epoch", e.epoch());
            JsonLines.number(n, "train_loss", e.trainLoss());
            JsonLines.number(n, "train_acc", e.trainAcc());
            JsonLines.number(n, "val_loss", e.valLoss());
            JsonLines.number(n, "val_acc", e.valAcc());
            JsonLines.number(n, "samples_per_s", e.samplesPerSecond());
            JsonLines.number(n, "seconds", e.seconds());
            JsonLines.number(n, "lr", e.lr());
            events.emit(n);
            log(String.format(java.util.Locale.ROOT, "epoch %d: train loss %.4f acc %.4f, val loss %.4f acc %.4f, "
                    + "%.0f samples/s, %.1f s", e.epoch(), e.trainLoss(), e.trainAcc(), e.valLoss(), e.valAcc(),
                    e.samplesPerSecond(), e.seconds()));
        }

        @Override
        public void onCaptions(Captions c) {
            ObjectNode n = events.event("captions");
            n.put("epoch", c.epoch());
            JsonLines.number(n, "val_bleu4", c.valBleu4());
            var arr = n.putArray("samples");
            for (CaptionSample s : c.samples()) {
                s.addTo(arr);
                log("  " + s.split() + " image " + s.image() + ": " + s.sample() + "  (truth: " + s.truth().get(0) + ")");
            }
            events.emit(n);
            log(String.format(java.util.Locale.ROOT, "epoch %d: validation BLEU-4 %.4f", c.epoch(), c.valBleu4()));
        }

        @Override
        public void onCheckpoint(int epoch, Path path) {
            ObjectNode n = events.event("checkpoint");
            n.put("epoch", epoch);
            n.put("path", path.toString());
            events.emit(n);
        }

        @Override
        public void onDone(double testLoss, double testAcc) {
            ObjectNode n = events.event("done");
            JsonLines.number(n, "test_loss", testLoss);
            JsonLines.number(n, "test_acc", testAcc);
            events.emit(n);
            log(String.format(java.util.Locale.ROOT, "test loss %.4f, test accuracy %.4f", testLoss, testAcc));
        }

        @Override
        public void log(String message) {
            System.err.println(message);
        }
    }
}
