-- Who may see and do what (issue 11): shared jobs, disabled users, token expiry and last use.
-- Portable between H2 and PostgreSQL: DEFAULT before NOT NULL, one column per statement.

-- The owner shares a job's log, report, checkpoint, predictions and fine-tuning with the lab.
ALTER TABLE jobs ADD COLUMN shared BOOLEAN DEFAULT FALSE NOT NULL;

-- A disabled user's tokens answer 401; their jobs stay as they are.
ALTER TABLE users ADD COLUMN disabled BOOLEAN DEFAULT FALSE NOT NULL;

-- A token past expires_at answers 401; NULL never expires. last_used_at is written at most once a minute.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
