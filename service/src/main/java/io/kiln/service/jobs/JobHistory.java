package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.store.JobEventRepository;
import io.kiln.service.store.JobEventRow;
import io.kiln.service.store.JobState;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.time.Instant;

/** A job's state history: each change is stored, with why, and told to the job's live listeners. */
@Singleton
public class JobHistory {
    private final JobEventRepository history;
    private final JobEvents events;

    public JobHistory(JobEventRepository history, JobEvents events) {
        this.history = history;
        this.events = events;
    }

    public void record(long id, JobState state, @Nullable String message) {
        history.save(new JobEventRow(null, id, state.name(), message, Instant.now()));
        ObjectNode n = JobViews.JSON.createObjectNode();
        n.put("state", state.name());
        n.put("message", message);
        events.publish(id, "state", n);
    }
}
