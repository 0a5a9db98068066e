package io.kiln.client;

import java.io.IOException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** One real Kiln service ({@link CliServer}) shared by a test class's tests, started before them, stopped after. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class WithCliServer {
    static final String ADMIN = CliServer.ADMIN;
    CliServer server;

    @BeforeAll
    void startServer() throws IOException {
        server = new CliServer(getClass().getSimpleName());
    }

    @AfterAll
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }
}
