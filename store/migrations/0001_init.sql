-- The first schema of leasebot's store. Times and durations are Unix
-- milliseconds; zero means "not set". {{autoid}} is replaced by each
-- back end's auto-increment primary key (see migrate.go).

-- Keys that only one caller may act on (chat deliveries, clicks), until
-- expires_at.
CREATE TABLE claims (
    key        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX claims_expires ON claims (expires_at);

-- One row per (notebook, stop time) that leasebot warned about; outcome is
-- empty while the warning is open.
CREATE TABLE warnings (
    notebook    TEXT   NOT NULL,
    stop_ms     BIGINT NOT NULL,
    name        TEXT   NOT NULL DEFAULT '',
    outcome     TEXT   NOT NULL DEFAULT '',
    by_user     TEXT   NOT NULL DEFAULT '',
    amount_ms   BIGINT NOT NULL DEFAULT 0,
    new_stop_ms BIGINT NOT NULL DEFAULT 0,
    created_ms  BIGINT NOT NULL,
    PRIMARY KEY (notebook, stop_ms)
);
CREATE INDEX warnings_stop ON warnings (stop_ms);
CREATE INDEX warnings_open ON warnings (stop_ms) WHERE outcome = '';

-- The copies of a warning: where each was meant to go (target, threshold)
-- and where it landed (conversation, ref; empty while only claimed).
CREATE TABLE warning_posts (
    id           {{autoid}},
    notebook     TEXT   NOT NULL,
    stop_ms      BIGINT NOT NULL,
    target       TEXT   NOT NULL,
    threshold_ms BIGINT NOT NULL,
    conversation TEXT   NOT NULL DEFAULT '',
    ref          TEXT   NOT NULL DEFAULT '',
    FOREIGN KEY (notebook, stop_ms) REFERENCES warnings (notebook, stop_ms) ON DELETE CASCADE
);
CREATE INDEX warning_posts_copy ON warning_posts (notebook, stop_ms, target, threshold_ms);

-- Every attempted change, newest last.
CREATE TABLE history (
    id            {{autoid}},
    at_ms         BIGINT NOT NULL,
    user_id       TEXT   NOT NULL DEFAULT '',
    channel       TEXT   NOT NULL DEFAULT '',
    via           TEXT   NOT NULL DEFAULT '',
    notebook      TEXT   NOT NULL DEFAULT '',
    notebook_name TEXT   NOT NULL DEFAULT '',
    verb          TEXT   NOT NULL DEFAULT '',
    requested     TEXT   NOT NULL DEFAULT '',
    old_stop_ms   BIGINT NOT NULL DEFAULT 0,
    new_stop_ms   BIGINT NOT NULL DEFAULT 0,
    outcome       TEXT   NOT NULL DEFAULT '',
    code          TEXT   NOT NULL DEFAULT '',
    approver      TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX history_notebook ON history (notebook, id);
CREATE INDEX history_at ON history (at_ms);

-- Notebooks kept running past the 72 h limit.
CREATE TABLE keeps (
    notebook  TEXT   PRIMARY KEY,
    name      TEXT   NOT NULL DEFAULT '',
    until_ms  BIGINT NOT NULL,
    by_user   TEXT   NOT NULL DEFAULT '',
    channel   TEXT   NOT NULL DEFAULT '',
    set_ms    BIGINT NOT NULL,
    warned_ms BIGINT NOT NULL DEFAULT 0
);

-- Requests to extend beyond a channel's limit.
CREATE TABLE approvals (
    id           {{autoid}},
    channel      TEXT   NOT NULL DEFAULT '',
    requester    TEXT   NOT NULL DEFAULT '',
    notebook     TEXT   NOT NULL DEFAULT '',
    name         TEXT   NOT NULL DEFAULT '',
    amount_ms    BIGINT NOT NULL DEFAULT 0,
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL DEFAULT 0,
    state        TEXT   NOT NULL DEFAULT 'pending',
    decider      TEXT   NOT NULL DEFAULT '',
    decided_ms   BIGINT NOT NULL DEFAULT 0,
    conversation TEXT   NOT NULL DEFAULT '',
    ref          TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX approvals_pending ON approvals (id) WHERE state = 'pending';
CREATE INDEX approvals_created ON approvals (created_ms);

-- Who leads among replicas, until expires_at (the database's clock on
-- PostgreSQL).
CREATE TABLE leader (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Users who have opened the app's home view.
CREATE TABLE homes (
    user_id   TEXT   PRIMARY KEY,
    opened_ms BIGINT NOT NULL
);
