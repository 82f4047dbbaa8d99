-- Notebook locks shared by replicas: one row per notebook being changed,
-- naming its holder (a token the holder chose) and when the lock runs out,
-- in Unix milliseconds on the database's clock, unless the holder renews
-- it. A lock row holds no connection while the change goes on.
CREATE TABLE notebook_locks (
    notebook   TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
