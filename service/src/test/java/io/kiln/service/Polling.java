package io.kiln.service;

import java.time.Duration;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Waiting in a test for what a server does in its own time (a job or sweep reaching a state): the thing is read
 * again until it is as wanted, and a test that waits too long fails saying what it last saw.
 */
final class Polling {
    /** How often the thing is read again: often enough not to slow a test, rarely enough not to load the server. */
    static final Duration EVERY = Duration.ofMillis(200);

    private Polling() {
    }

    /**
     * The first value {@code read} gives that {@code done} accepts; fails with {@code failure} of the last value read
     * (null if none was) once {@code timeout} has passed.
     */
    static <T> T await(Supplier<T> read, Predicate<? super T> done, Duration timeout, Function<T, String> failure) {
        long end = System.nanoTime() + timeout.toNanos();
        T last = null;
        while (System.nanoTime() < end) {
            last = read.get();
            if (done.test(last)) {
                return last;
            }
            try {
                Thread.sleep(EVERY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting; last seen: " + last, e);
            }
        }
        throw new AssertionError(failure.apply(last));
    }
}
