package io.kiln.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.client.CliServer.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the command line does when something is wrong: bad arguments exit 2 saying what is wrong, a refusal by
 * the server exits 1 with the server's message, a server that cannot be reached exits 3; never a stack trace.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KilnCliErrorsTest extends WithCliServer {
    /** An error answer: this exit status, a message on stderr that holds {@code message}, and no stack trace. */
    static void assertFails(Run r, int exit, String message) {
        assertEquals(exit, r.exit(), r.all());
        assertTrue(r.err().contains(message), "expected \"" + message + "\" in\n" + r.all());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "a stack trace:\n" + r.all());
        assertEquals("", r.out().strip(), "nothing on stdout:\n" + r.all());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            an unknown command       | bogus                               | Unmatched argument at index 4: 'bogus'
            an unknown option        | jobs --colour                       | Unknown option: '--colour'
            no job id                | show                                | Missing required parameter: 'ID'
            a size that is no number | jobs --size many                    | Invalid value for option '--size': 'many' is not an int
            an interval of no number | watch 1 --interval soon             | Invalid value for option '--interval'
            a negative interval      | watch 1 --interval -1               | --interval must be more than 0 seconds, got -1.0
            a zero interval          | sweep --id 1 --interval 0           | --interval must be more than 0 seconds, got 0.0
            download without a file  | download 1                          | Missing required option: '--output=FILE'
            a sweep without a file   | sweep                               | give SWEEP.json or --id
            a missing spec file      | submit /nonexistent/spec.json       | spec file not found: /nonexistent/spec.json
            a missing sweep file     | sweep /nonexistent/sweep.json       | file not found: /nonexistent/sweep.json
            a sweep id for a file    | sweep 1                             | (to show sweep 1, give --id 1)
            """)
    void badArgumentsExit2SayingWhatIsWrong(String what, String args, String message) {
        assertFails(server.kiln(ADMIN, args.split(" ")), 2, message);
    }

    @Test
    void aSpecThatIsAFolderIsABadArgument() throws IOException {
        Path folder = Files.createDirectories(server.home.resolve("a-folder.json"));
        assertFails(server.kiln(ADMIN, "submit", folder.toString()), 2, "kiln: cannot read " + folder);
    }

    @Test
    void aDownloadToAFolderThatDoesNotExistIsABadArgument() throws IOException {
        String id = server.kiln(ADMIN, "submit", server.spec("tiny-1", 1, "").toString()).lastLine();
        assertEquals(0, server.kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2").exit());
        Path nowhere = server.home.resolve("no-such-folder").resolve("w.kiln");
        assertFails(server.kiln(ADMIN, "download", id, "-o", nowhere.toString()), 2, "cannot save the checkpoint to " + nowhere);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            an unknown job           | show 987654                         | HTTP 404: no job 987654
            an unknown job's metrics | metrics 987654                      | HTTP 404: no job 987654
            cancelling no job        | cancel 987654                       | HTTP 404: no job 987654
            an unknown sweep         | sweep --id 987654                   | HTTP 404: no sweep 987654
            an unknown state         | jobs --state DONE                   | HTTP 400: state: must be one of QUEUED, RUNNING
            a page size of 0         | jobs --size 0                       | HTTP 400: size: must be between 1 and 500, got 0
            a negative page          | jobs --page -1                      | HTTP 400: page: must be >= 0, got -1
            """)
    void refusalsExit1WithTheServersMessage(String what, String args, String message) {
        assertFails(server.kiln(ADMIN, args.split(" ")), 1, "kiln: " + message);
    }

    @Test
    void aBadSpecIsRefusedNamingTheField() throws IOException {
        Path bad = server.home.resolve("bad.json");
        Files.writeString(bad, Files.readString(server.spec("bad", 1, "")).replace("\"units\":16", "\"units\":0"));
        assertFails(server.kiln(ADMIN, "submit", bad.toString()), 1, "kiln: HTTP 400: model.layers[1].units: ");
    }

    @Test
    void aMisspeltKeyIsNamedWithTheKnownOneItMeant() throws IOException {
        Path bad = server.home.resolve("misspelt.json");
        Files.writeString(bad, Files.readString(server.spec("misspelt", 1, "")).replace("\"units\":16", "\"unit\":16"));
        assertFails(server.kiln(ADMIN, "submit", bad.toString()), 1,
                "kiln: HTTP 400: model.layers[1].unit: unknown field; did you mean \"units\"?");
    }

    @Test
    void aMalformedSpecIsToldInPlainWordsWithItsLine() throws IOException {
        Path bad = server.home.resolve("malformed.json");
        Files.writeString(bad, "{\n  \"name\": \"x\",\n  \"data\": {\"name\": \"tiny\",}\n}\n");
        Run r = server.kiln(ADMIN, "submit", bad.toString());
        assertFails(r, 1, "kiln: HTTP 400: the spec is not valid JSON at line 3, column");
        assertTrue(r.err().contains("expected a field name in double quotes, found '}'"), r.all());
        assertFalse(r.err().contains("Feature") || r.err().contains("Source") || r.err().contains("code 125"), r.all());
    }

    @Test
    void withoutAValidTokenTheUserIsToldWhereTokensGo() {
        assertFails(server.kiln(null, "jobs"), 1, "HTTP 401");
        assertFails(server.kiln(null, "jobs"), 1, "(check --token or KILN_TOKEN)");
        assertFails(server.kiln("kiln_not-a-token", "show", "1"), 1, "HTTP 401");
    }

    @Test
    void anUnreachableServerExits3NamingIt() {
        Run down = CliServer.run(Duration.ofSeconds(30), "--server", "http://127.0.0.1:9", "--token", ADMIN, "jobs");
        assertFails(down, 3, "kiln: cannot reach the Kiln server at http://127.0.0.1:9/ (is it running? set --server or KILN_SERVER)");
    }

    @Test
    void aServerAddressThatIsNoUrlIsABadArgument() {
        Run r = CliServer.run(Duration.ofSeconds(30), "--server", "http://bad host:8080", "--token", ADMIN, "jobs");
        assertFails(r, 2, "kiln: --server: ");
    }
}
