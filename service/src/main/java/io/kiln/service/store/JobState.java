package io.kiln.service.store;

/** The life of a job: QUEUED, then RUNNING, then one of the three ends. */
public enum JobState {
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    public boolean finished() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
