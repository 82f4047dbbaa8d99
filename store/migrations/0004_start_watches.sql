-- Starts leasebot announced and has not yet said the end of: the
-- announcing message (conversation, ref) is updated once the notebook runs
-- or fails, by the process that started it or, if that one is gone, by
-- the leader. Deleting the row is the claim to tell the end.
CREATE TABLE start_watches (
    conversation TEXT   NOT NULL,
    ref          TEXT   NOT NULL,
    notebook     TEXT   NOT NULL,
    name         TEXT   NOT NULL DEFAULT '',
    user_id      TEXT   NOT NULL DEFAULT '',
    started_ms   BIGINT NOT NULL,
    PRIMARY KEY (conversation, ref)
);
