package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The wait of the server tests: the first value that is as wanted, or a failure that says what was last seen. */
@Timeout(10)
class PollingTest {
    @Test
    void returnsTheFirstValueThatIsAsWanted() {
        AtomicInteger reads = new AtomicInteger();
        int got = Polling.await(reads::incrementAndGet, n -> n >= 3, Duration.ofSeconds(5), n -> "never got there: " + n);
        assertEquals(3, got);
        assertEquals(3, reads.get(), "read again only until it was as wanted");
    }

    @Test
    void failsAfterTheTimeoutSayingWhatItLastSaw() {
        AtomicInteger reads = new AtomicInteger();
        AssertionError e = assertThrows(AssertionError.class, () -> Polling.await(reads::incrementAndGet, n -> false,
                Duration.ofMillis(500), n -> "last seen " + n));
        assertEquals("last seen " + reads.get(), e.getMessage());
    }
}
