package io.kiln.service.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.executor.Placement;
import io.kiln.service.store.JobQueries.Usage;
import io.kiln.service.store.JobRow;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The queue's order, from snapshots alone: priority, then fair share, then submission time; the per-user limit. */
@Timeout(10)
class QueueOrderTest {
    static final Placement CPU = new Placement("cpu", false, Set.of("auto", "cpu"));
    static final Placement GPU = new Placement("cuda:0", true, Set.of("auto", "cuda", "cuda:0"));
    static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    static JobRow job(long id, String user, int priority, int submittedSecond, String device) {
        return new JobRow(id, "job-" + id, user, "{}", device, priority, "QUEUED", null, null, null, false, 0, 0, 1, 0, 0,
                0, null, null, null, T0.plusSeconds(submittedSecond), null, null, 0.0, false, null, 0, null, null);
    }

    static List<Long> ids(List<JobRow> jobs) {
        return jobs.stream().map(JobRow::id).toList();
    }

    @Test
    void withoutUseOrPriorityTheOldestJobGoesFirst() {
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 30, "cpu"), job(2, "bob", 0, 10, "cpu"),
                job(3, "cy", 0, 20, "cpu")), Map.of(), 4);
        assertEquals(List.of(2L, 3L, 1L), ids(q.order()));
    }

    @Test
    void anAdminsPriorityGoesBeforeFairShareAndAge() {
        // bob has used the most and submitted last, but his job has the priority an admin gave it.
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 10, "cpu"), job(2, "bob", 5, 30, "cpu"),
                job(3, "cy", 1, 20, "cpu")), Map.of("bob", new Usage(50_000, 2)), 4);
        assertEquals(List.of(2L, 3L, 1L), ids(q.order()));
    }

    @Test
    void theUserWhoUsedLeastInTheWindowGoesFirst() {
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 10, "cpu"), job(2, "bob", 0, 20, "cpu"),
                job(3, "cy", 0, 30, "cpu")), Map.of("ann", new Usage(7200, 0), "bob", new Usage(60, 0)), 4);
        assertEquals(List.of(3L, 2L, 1L), ids(q.order()), "cy used nothing, bob a minute, ann two hours");
    }

    @Test
    void aRunningJobCountsAsAnHourOfUse() {
        // ann has used 30 minutes and runs nothing; bob has used nothing but runs a job: bob's share is the hour.
        QueueOrder q = new QueueOrder(List.of(job(1, "bob", 0, 10, "cpu"), job(2, "ann", 0, 20, "cpu")),
                Map.of("ann", new Usage(1800, 0), "bob", new Usage(0, 1)), 4);
        assertEquals(List.of(2L, 1L), ids(q.order()));
        assertEquals(QueueOrder.RUNNING_JOB_SECONDS, q.share("bob"));
    }

    @Test
    void eachJobHandedOutCountsForItsUserAtOnce() {
        // Two vacancies in one tick: ann's second job must wait behind bob's first, though ann submitted both first.
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 10, "cpu"), job(2, "ann", 0, 11, "cpu"),
                job(3, "bob", 0, 12, "cpu")), Map.of(), 4);
        JobRow first = q.next(CPU).orElseThrow();
        assertEquals(1, first.id());
        q.started(first);
        assertEquals(3, q.next(CPU).orElseThrow().id());
    }

    @Test
    void aUserAtTheRunningLimitIsPassedOver() {
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 9, 10, "cpu"), job(2, "bob", 0, 20, "cpu")),
                Map.of("ann", new Usage(0, 2)), 2);
        assertEquals(2, q.next(CPU).orElseThrow().id(), "ann runs 2 of 2 allowed: her priority does not help");
        q.started(job(2, "bob", 0, 20, "cpu"));
        assertEquals(Optional.empty(), q.next(CPU), "only ann's job is left, and she is at her limit");
        assertEquals(1, new QueueOrder(List.of(job(1, "ann", 9, 10, "cpu")), Map.of("ann", new Usage(0, 1)), 2)
                .next(CPU).orElseThrow().id(), "one below her limit, she may start another");
    }

    @Test
    void theLimitCountsJobsHandedOutInTheSameTick() {
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 10, "auto"), job(2, "ann", 0, 11, "auto")), Map.of(), 1);
        q.started(q.next(GPU).orElseThrow());
        assertEquals(Optional.empty(), q.next(CPU), "ann may run one job, and has one");
    }

    @Test
    void aPlacementGetsOnlyJobsWhoseDeviceItSatisfies() {
        QueueOrder q = new QueueOrder(List.of(job(1, "ann", 0, 10, "cuda"), job(2, "bob", 0, 20, "cpu"),
                job(3, "cy", 0, 30, "cuda:1")), Map.of(), 4);
        assertEquals(2, q.next(CPU).orElseThrow().id(), "the CPU takes the cpu job behind the older cuda one");
        assertEquals(1, q.next(GPU).orElseThrow().id());
        q.lost(job(1, "ann", 0, 10, "cuda"));
        assertTrue(q.next(GPU).isEmpty(), "cuda:1 is not this placement");
    }

    @Test
    void aJobClaimedElsewhereLeavesTheQueueWithoutCountingAsUse() {
        JobRow a = job(1, "ann", 0, 10, "cpu");
        QueueOrder q = new QueueOrder(List.of(a, job(2, "ann", 0, 20, "cpu"), job(3, "bob", 0, 30, "cpu")), Map.of(), 4);
        q.lost(a);
        assertEquals(2, q.next(CPU).orElseThrow().id(), "ann's next job is still first: she did not get the lost one");
        assertEquals(0.0, q.share("ann"));
    }
}
