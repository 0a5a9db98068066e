package io.kiln.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar kiln-engine.jar COMMAND ...}: the engine's command line (CONTRACT.md). */
@Command(name = "kiln-engine", mixinStandardHelpOptions = true, versionProvider = EngineMain.Version.class,
        description = "Kiln's training engine: train a job spec, import pretrained weights, export ONNX, check the GPU "
                + "backend, benchmark the models.",
        subcommands = {TrainCommand.class, EvaluateCommand.class, ReportCommand.class, PredictCommand.class,
                ImportCommand.class, ExportCommand.class, GpuCheckCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class EngineMain {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new EngineMain());
        // Usage errors are answered like a bad spec: exit 2 with the reason.
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println(ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return 2;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = EngineMain.class.getPackage().getImplementationVersion();
            return new String[] {"kiln-engine " + (v == null ? "(development build)" : v)};
        }
    }
}
