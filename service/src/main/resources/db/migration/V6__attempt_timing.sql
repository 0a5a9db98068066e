-- Timing across attempts (issue 16): started_at stays the first attempt's start; the current attempt's start and
-- the epoch it resumed after give its throughput, hence a resumed job's ETA. Running time of ended attempts is
-- device_seconds. Portable between H2 and PostgreSQL: DEFAULT before NOT NULL, one column per statement.
ALTER TABLE jobs ADD COLUMN attempt_started_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE jobs ADD COLUMN attempt_start_epoch INT DEFAULT 0 NOT NULL;
UPDATE jobs SET attempt_started_at = started_at;
