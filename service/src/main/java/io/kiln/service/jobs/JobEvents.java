package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.inject.Singleton;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * Live events of all jobs (state changes, progress, new metrics) for the SSE endpoint. Events not consumed in
 * time are dropped for that subscriber rather than slowing the worker readers down: the store has everything.
 */
@Singleton
public class JobEvents {
    /** An event of one job: its type ({@code state}, {@code progress}, {@code step}, {@code epoch}) and data. */
    public record Event(long jobId, String type, ObjectNode data) {
    }

    private final Sinks.Many<Event> sink = Sinks.many().multicast().directBestEffort();

    public void publish(long jobId, String type, ObjectNode data) {
        sink.tryEmitNext(new Event(jobId, type, data));
    }

    public Flux<Event> of(long jobId) {
        return sink.asFlux().filter(e -> e.jobId() == jobId);
    }
}
