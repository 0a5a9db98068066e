-- Sweeps as results (issue 15): retraining the best point on training + validation data, and the indexes that
-- listing sweeps and their points use. Portable between H2 and PostgreSQL: DEFAULT before NOT NULL.

-- "retrain": true on POST /sweeps; once every point has ended, retrain_job_id is the job that retrains the best
-- point, or retrain_note says why there is none (no point has a validation accuracy, the spec no longer passes).
ALTER TABLE sweeps ADD COLUMN retrain BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE sweeps ADD COLUMN retrain_job_id BIGINT;
ALTER TABLE sweeps ADD COLUMN retrain_note TEXT;

CREATE INDEX jobs_sweep ON jobs(sweep_id);
CREATE INDEX sweeps_user ON sweeps(user_name, id);
