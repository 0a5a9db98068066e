package io.kiln.service.scheduler;

import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.Launch;
import io.kiln.service.executor.Placement;
import io.kiln.service.executor.Run;
import io.kiln.service.jobs.FineTuningSources;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a claimed job: prepares its folder, makes sure no earlier run of it still goes on, plans where the run
 * starts (resume or not), hands the run to the executor and the run to the supervisor. A job that cannot be
 * started fails with the reason.
 */
@Singleton
class JobLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(JobLauncher.class);

    private final JobExecutor executor;
    private final ResumePlanner resume;
    private final RunSupervisor supervisor;
    private final JobTransitions transitions;
    private final ProgressRecorder.Store store;
    private final KilnPaths paths;
    private final JobLog log;
    private final FineTuningSources fineTuning;

    JobLauncher(JobExecutor executor, ResumePlanner resume, RunSupervisor supervisor, JobTransitions transitions,
                ProgressRecorder.Store store, KilnPaths paths, JobLog log, FineTuningSources fineTuning) {
        this.executor = executor;
        this.resume = resume;
        this.supervisor = supervisor;
        this.transitions = transitions;
        this.store = store;
        this.paths = paths;
        this.log = log;
        this.fineTuning = fineTuning;
    }

    void launch(JobRow job, Placement placement, String serverId) {
        long id = job.id();
        transitions.running(job, placement, serverId);
        try {
            Path dir = paths.jobDir(id);
            Files.createDirectories(dir);
            Files.writeString(paths.spec(id), job.spec());
            ProgressRecorder recorder = store.recorder(job);
            Optional<Run> earlier = executor.recover(job, recorder);
            if (earlier.isPresent()) {
                log.append(id, "kiln: following the run of an earlier start on " + earlier.get().placement() + "\n");
                supervisor.follow(job, earlier.get(), recorder);
                return;
            }
            ResumePlanner.Plan plan = resume.prepare(job);
            JobSpec spec = SpecParser.parse(job.spec());
            Launch launch = new Launch(job, placement, dir, paths.spec(id), paths.dataRoot(), plan.resume(), plan.after(),
                    fineTuning.checkpoint(spec), fineTuning.weights(spec));
            log.append(id, "kiln: " + (plan.resume() ? "resuming after epoch " + plan.after() : "starting") + " on "
                    + placement.name() + " of " + serverId + "\n");
            supervisor.follow(job, executor.start(launch, recorder), recorder);
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot start job {}", id, e);
            transitions.finish(id, JobState.FAILED, "cannot start the worker: " + e.getMessage(), 0);
        }
    }
}
