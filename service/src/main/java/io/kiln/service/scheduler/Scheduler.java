package io.kiln.service.scheduler;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.Placement;
import io.kiln.service.executor.Run;
import io.kiln.service.store.JobClaims;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.StoreHealth;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.event.ShutdownEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This server's share of the queue: on each tick it heartbeats and reaps stale jobs, acts on cancels and time
 * limits, and fills the executor's vacancies with the queued jobs that {@link QueueOrder} puts first, claiming
 * each in the store (so that of several servers sharing the queue, one gets it). After a restart it takes back
 * or requeues the jobs it ran. Which job runs is decided here; how it runs is the {@link JobExecutor}'s.
 */
@Context
public class Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);

    private final KilnConfig config;
    private final JobRepository jobs;
    private final JobClaims claims;
    private final JobQueries queries;
    private final JobExecutor executor;
    private final JobLauncher launcher;
    private final RunSupervisor supervisor;
    private final StaleJobReaper reaper;
    private final JobTransitions transitions;
    private final ProgressRecorder.Store store;
    private volatile String serverId;
    private volatile boolean stopping;

    Scheduler(KilnConfig config, JobRepository jobs, JobClaims claims, JobQueries queries, JobExecutor executor,
              JobLauncher launcher, RunSupervisor supervisor, StaleJobReaper reaper, JobTransitions transitions,
              ProgressRecorder.Store store) {
        this.config = config;
        this.jobs = jobs;
        this.claims = claims;
        this.queries = queries;
        this.executor = executor;
        this.launcher = launcher;
        this.supervisor = supervisor;
        this.reaper = reaper;
        this.transitions = transitions;
        this.store = store;
    }

    /** This server's name in the shared queue: kiln.server-id, else host name and HTTP port. */
    public String serverId() {
        return serverId;
    }

    /**
     * Once the HTTP server is up (its port names this server): the jobs the store says this server runs are
     * taken back where their runs went on, and otherwise go back to the queue to resume from their checkpoints.
     */
    @EventListener
    void onStartup(ServerStartupEvent e) {
        String id = config.serverId();
        if (id == null) {
            String host;
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException ex) {
                host = "localhost";
            }
            id = host + ":" + e.getSource().getPort();
        }
        for (JobRow j : jobs.findByStateAndServerId(JobState.RUNNING.name(), id)) {
            try {
                ProgressRecorder recorder = store.recorder(j);
                Optional<Run> run = executor.recover(j, recorder);
                if (run.isPresent()) {
                    supervisor.follow(j, run.get(), recorder);
                } else {
                    transitions.requeueOrFail(j, "the server restarted while it ran");
                }
            } catch (RuntimeException ex) {
                LOG.error("job {}: cannot recover its run", j.id(), ex);
                transitions.requeueOrFail(j, "the server restarted while it ran");
            }
        }
        serverId = id;
    }

    /**
     * Every half second: a freed slot is filled, and a cancel acted on, within that time (users notice it no
     * more than the second a worker JVM takes to start), while the few indexed queries a tick costs stay light
     * for a database that several servers share.
     */
    @Scheduled(fixedDelay = "500ms", initialDelay = "1s")
    void tick() {
        if (stopping || serverId == null) {
            return;
        }
        if (!store.health().up()) {
            // Nothing is claimed, stopped or reaped on what the store last said; StoreProbe sees it come back.
            return;
        }
        try {
            Instant now = Instant.now();
            supervisor.catchUp();
            reaper.tick(serverId, now, supervisor.jobIds());
            supervisor.tick(serverId, now);
            fill(now);
        } catch (RuntimeException e) {
            if (StoreHealth.isStoreFailure(e)) {
                store.health().failed(e);
            } else {
                LOG.error("scheduler tick failed", e);
            }
        }
    }

    /** Gives each vacancy the first queued job it may take, claiming it in the store. */
    private void fill(Instant now) {
        List<Placement> vacancies = executor.vacancies();
        if (vacancies.isEmpty()) {
            return;
        }
        List<JobRow> queued = jobs.findByStateOrderBySubmittedAt(JobState.QUEUED.name());
        if (queued.isEmpty()) {
            return;
        }
        QueueOrder order = new QueueOrder(queued, queries.usage(now.minus(QueueOrder.FAIR_SHARE_WINDOW)),
                config.maxRunningPerUser());
        for (Placement p : vacancies) {
            for (Optional<JobRow> next = order.next(p); next.isPresent(); next = order.next(p)) {
                JobRow j = next.get();
                if (claims.claim(j.id(), p.name(), serverId, now, p.batchQueue() ? JobClaims.SUBMITTING : null)) {
                    order.started(j);
                    launcher.launch(jobs.findById(j.id()).orElseThrow(), p, serverId);
                    break;
                }
                order.lost(j);
            }
        }
    }

    @EventListener
    void onShutdown(ShutdownEvent e) {
        stopAll();
    }

    @PreDestroy
    void stopAll() {
        stopping = true;
        supervisor.stopAll();
    }

    /** The process id of the worker running a job here, if any (operators and tests use it). */
    public Optional<Long> workerPid(long jobId) {
        return supervisor.run(jobId).flatMap(Run::processId);
    }

    /** Jobs running here, for metrics and devices. */
    public int runningCount() {
        return supervisor.jobIds().size();
    }
}
