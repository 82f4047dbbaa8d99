-- Cheaper writes to the two tables every command writes to. On SQLite each
-- index is another b-tree to update and another page to append to the
-- write-ahead log at every commit.

-- claims: one b-tree keyed by the key (WITHOUT ROWID) instead of a table,
-- its key index and an index on expires_at. Pruning expired claims scans
-- the table instead, which holds about a day of deliveries.
CREATE TABLE claims_new (
    key        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO claims_new (key, expires_at) SELECT key, expires_at FROM claims;
DROP TABLE claims;
ALTER TABLE claims_new RENAME TO claims;

-- history: IDs come from the rowid (the largest so far plus one) instead of
-- AUTOINCREMENT's counter, which was another row to update per entry. IDs
-- still only grow: pruning deletes the oldest entries, never the newest.
-- Entries are pruned in the order they were written, which is the order of
-- their times, so the index on at_ms goes too.
CREATE TABLE history_new (
    id            INTEGER PRIMARY KEY,
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
INSERT INTO history_new (id, at_ms, user_id, channel, via, notebook, notebook_name, verb, requested,
                         old_stop_ms, new_stop_ms, outcome, code, approver)
SELECT id, at_ms, user_id, channel, via, notebook, notebook_name, verb, requested,
       old_stop_ms, new_stop_ms, outcome, code, approver FROM history;
DROP TABLE history;
ALTER TABLE history_new RENAME TO history;
CREATE INDEX history_notebook ON history (notebook, id);
