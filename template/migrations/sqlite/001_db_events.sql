-- Change log written by the dashboard triggers and polled by the backend.
-- Safe to run again: everything is created only if missing.
-- A db_events created before old_values existed gets the column from the
-- migration runner (by hand: ALTER TABLE db_events ADD COLUMN old_values TEXT
-- CHECK (old_values IS NULL OR json_valid(old_values))).

CREATE TABLE IF NOT EXISTS db_events (
    -- AUTOINCREMENT: ids are never reused after retention deletes the newest rows,
    -- so clients that de-duplicate by id never drop a new event.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    entity          TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- Checked: one invalid payload must never break a message for every client.
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    changed_columns TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- Updates: the old values of the changed columns, by field name.
    old_values      TEXT CHECK (old_values IS NULL OR json_valid(old_values))
);

-- Retention deletes by age; history pages in (created_at, id) order and time
-- ranges: SQLite ends every index with the rowid (here id), so this index is
-- (created_at, id) and serves both without a second one.
CREATE INDEX IF NOT EXISTS db_events_created_at_idx ON db_events (created_at);
-- History of one entity, paged by id.
CREATE INDEX IF NOT EXISTS db_events_entity_id_idx ON db_events (entity, id);
