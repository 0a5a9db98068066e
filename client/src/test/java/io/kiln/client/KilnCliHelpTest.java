package io.kiln.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.client.cli.KilnCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The listing commands' shared options, as each command's help words them: its own things, not a placeholder. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class KilnCliHelpTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({"jobs", "sweeps"})
    void aListingsHelpNamesWhatItLists(String command) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, KilnCli.run(new PrintWriter(out, true), new PrintWriter(err, true), command, "--help"), err.toString());
        String help = out.toString();
        assertTrue(help.contains("--user=<user>") && help.contains("only this user's " + command + "\n"), help);
        assertTrue(help.contains("--size=<size>") && help.contains(command + " per page (default 50)\n"), help);
        assertTrue(help.contains("--page=<page>"), help);
    }
}
