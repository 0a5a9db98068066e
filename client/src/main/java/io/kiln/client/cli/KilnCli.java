package io.kiln.client.cli;

import io.kiln.client.KilnClient;
import io.kiln.client.KilnException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kiln [--server URL] [--token T] COMMAND}: Kiln's command line (CONTRACT.md). */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1",
        description = "Submit, watch and manage training jobs on a Kiln server.",
        subcommands = {SubmitCommand.class, JobsCommand.class, ShowCommand.class, WatchCommand.class,
                CancelCommand.class, MetricsCommand.class, DownloadCommand.class, SweepCommand.class, SweepsCommand.class,
                ReportCommand.class, PredictCommand.class, TokensCommand.class,
                RevokeCommand.class,
                CommandLine.HelpCommand.class})
public final class KilnCli {
    @Option(names = "--server", paramLabel = "URL", scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:KILN_SERVER:-http://localhost:8080}",
            description = "the Kiln server (default: $KILN_SERVER, else ${DEFAULT-VALUE})")
    String server;

    @Option(names = "--token", paramLabel = "T", scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:KILN_TOKEN}", description = "API token (default: $KILN_TOKEN)")
    String token;

    KilnClient client() {
        try {
            return new KilnClient(server, token);
        } catch (IllegalArgumentException e) {
            throw new BadArgumentException("--server: " + e.getMessage());
        }
    }

    /** A command-line argument that cannot be used (a file that cannot be read, a bad value): exit 2. */
    static final class BadArgumentException extends RuntimeException {
        BadArgumentException(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs a command with the given output streams and returns its exit code (tests call this). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new KilnCli());
        cl.setOut(out);
        cl.setErr(err);
        // Exit codes: 1 the server refused, 2 a bad argument (as picocli's own for unknown options), 3 no server.
        // A user sees one line saying what went wrong, never a stack trace.
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter e = commandLine.getErr();
            if (ex instanceof KilnException k) {
                e.println("kiln: " + k.getMessage());
                return k.status() == 0 ? 3 : 1;
            }
            if (ex instanceof BadArgumentException || ex instanceof java.io.UncheckedIOException) {
                e.println("kiln: " + ex.getMessage());
                return 2;
            }
            e.println("kiln: unexpected error: " + ex);
            return 1;
        });
        return cl.execute(args);
    }
}
