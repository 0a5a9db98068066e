-- Jobs run by a batch system (kiln.executor: slurm). batch_job: the batch job running the job's current run,
-- stored before that batch job may start and cleared once its end is handled; waiting_reason: while the batch
-- system holds the run back, its reason (the job then shows as QUEUED).
ALTER TABLE jobs ADD COLUMN batch_job VARCHAR(64);
ALTER TABLE jobs ADD COLUMN waiting_reason VARCHAR(200);
