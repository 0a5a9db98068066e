package io.kiln.client.cli;

import io.kiln.client.KilnClient;
import java.io.PrintWriter;
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
}
