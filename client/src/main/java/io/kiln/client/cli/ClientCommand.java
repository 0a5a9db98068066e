package io.kiln.client.cli;

import io.kiln.client.KilnClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What every kiln command shares: the client for --server/--token and the output streams. */
abstract class ClientCommand implements Callable<Integer> {
    @ParentCommand
    KilnCli parent;

    @Spec
    CommandSpec spec;

    KilnClient client() {
        return parent.client();
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** The text of a file named on the command line ({@code what}: "spec", "sweep"); one that cannot be read is a bad argument. */
    static String readFile(Path file, String what) {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new KilnCli.BadArgumentException(what + " file not found: " + file.toAbsolutePath());
        } catch (IOException e) {
            throw new KilnCli.BadArgumentException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** A poll interval must be positive: zero would poll the server without pause. */
    static void checkInterval(double seconds) {
        if (!(seconds > 0)) {
            throw new KilnCli.BadArgumentException("--interval must be more than 0 seconds, got " + seconds);
        }
    }
}
