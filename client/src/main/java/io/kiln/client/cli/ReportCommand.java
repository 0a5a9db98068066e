package io.kiln.client.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Saves a job's HTML report: its test images with every class's score, the confusion matrix and "
                + "per-class accuracy.")
final class ReportCommand extends JobCommandBase {
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE")
    Path file;

    @Option(names = "--images", paramLabel = "N", description = "how many test images it shows (default: the server's)")
    Integer images;

    @Override
    public Integer call() {
        String html = client().report(id, images);
        try {
            Files.writeString(file, html, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new KilnCli.BadArgumentException("cannot save the report to " + file + ": " + e);
        }
        out().println("saved job " + id + "'s report to " + file);
        return 0;
    }
}
