-- One row that every server rewrites every kiln.store-probe-interval: a write that commits proves the job store
-- can be written (a read alone does not: an H2 file, or a PostgreSQL in read-only mode, still answers reads).
CREATE TABLE store_probe (
    id        INT PRIMARY KEY,
    probed_at TIMESTAMP WITH TIME ZONE NOT NULL
);
INSERT INTO store_probe (id, probed_at) VALUES (1, CURRENT_TIMESTAMP);
