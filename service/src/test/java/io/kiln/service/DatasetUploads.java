package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.TestInstance;

/**
 * What the dataset upload tests share: one server on an empty data root for the class, an upload as the admin sends
 * it, and the check after every test that the upload, whatever it did, left no unpacking folder behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DatasetUploads {
    @AutoClose
    KilnServer kiln;
    Path home;
    Path dataRoot;

    /** Starts the class's server with these settings beside the test defaults. */
    void startServer(String prefix, Map<String, Object> settings) throws IOException {
        kiln = KilnServer.onEmptyData(prefix, settings);
        home = kiln.home();
        dataRoot = kiln.dataRoot();
    }

    KilnServer.Answer upload(String name, String fileName, byte[] archive) {
        return ApiTestSupport.multipart(kiln, "/api/v1/datasets", Map.of("name", name), "file", fileName, archive);
    }

    @AfterEach
    void nothingIsLeftBehind() throws IOException {
        try (Stream<Path> s = Files.list(dataRoot)) {
            List<String> hidden = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
            assertEquals(List.of(), hidden, "no unpacking folder (.upload-*) is left in the data root");
        }
    }
}
