package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.access.JobAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import jakarta.inject.Singleton;
import java.time.Duration;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * Live events of all jobs (state changes, progress, new metrics) and one job's event stream for the SSE endpoint.
 * Events not consumed in time are dropped for that subscriber rather than slowing the worker readers down: the
 * store has everything.
 */
@Singleton
public class JobEvents {
    /** Sent when nothing else is, so that proxies and browsers keep an idle stream open. */
    static final Duration KEEP_ALIVE = Duration.ofSeconds(15);

    /**
     * An event of one job: its type ({@code job}, the job as it is when the stream opens; {@code state},
     * {@code progress}, {@code step}, {@code epoch}, {@code done}; {@code ping}) and data.
     */
    public record Event(long jobId, String type, ObjectNode data) {
    }

    private final Sinks.Many<Event> sink = Sinks.many().multicast().directBestEffort();

    public void publish(long jobId, String type, ObjectNode data) {
        sink.tryEmitNext(new Event(jobId, type, data));
    }

    public Flux<Event> of(long jobId) {
        return sink.asFlux().filter(e -> e.jobId() == jobId);
    }

    /**
     * A job's stream: the job as it is now, then its events as they happen with keep-alive pings, ending with the
     * state change that ends the job (at once for a job that has already ended). A caller who may not see the
     * job's results (as the stream opens) gets state messages without the part that quotes the job's log.
     */
    public Flux<Event> stream(JobRow job, JobAccess access, Caller caller) {
        Flux<Event> first = Flux.just(new Event(job.id(), "job", JobViews.summary(job, access, caller)));
        if (JobState.valueOf(job.state()).finished()) {
            return first;
        }
        boolean results = access.maySeeResults(job, caller);
        Flux<Event> keepAlive = Flux.interval(KEEP_ALIVE).map(t -> new Event(job.id(), "ping", JobViews.JSON.createObjectNode()));
        return Flux.concat(first, Flux.merge(of(job.id()), keepAlive)
                .map(e -> results ? e : withoutLogQuote(e))
                .takeUntil(e -> e.type().equals("state") && JobState.valueOf(e.data().path("state").asText()).finished()));
    }

    private static Event withoutLogQuote(Event e) {
        if (!e.type().equals("state") || !e.data().path("message").isTextual()) {
            return e;
        }
        ObjectNode data = e.data().deepCopy();
        data.put("message", JobAccess.firstLine(data.get("message").asText()));
        return new Event(e.jobId(), e.type(), data);
    }
}
