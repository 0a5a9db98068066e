package io.kiln.service.jobs;

import io.kiln.service.store.LogRepository;
import io.kiln.service.store.LogRow;
import jakarta.inject.Singleton;

/** A job's log: what its workers wrote and what Kiln did with it (lines starting {@code kiln:}). */
@Singleton
public class JobLog {
    private final LogRepository logs;

    public JobLog(LogRepository logs) {
        this.logs = logs;
    }

    public void append(long jobId, String text) {
        logs.save(new LogRow(null, jobId, text));
    }

    /** The whole log, in the order it was written. */
    public String text(long jobId) {
        StringBuilder s = new StringBuilder();
        for (LogRow r : logs.findByJobIdOrderById(jobId)) {
            s.append(r.text());
        }
        return s.toString();
    }
}
