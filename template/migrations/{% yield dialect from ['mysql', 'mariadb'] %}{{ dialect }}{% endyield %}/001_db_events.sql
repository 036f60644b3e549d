-- Change log written by the dashboard triggers and polled by the backend.
-- MySQL 8 and MariaDB 10.6+. Safe to run again: created only if missing.
-- A db_events created before old_values existed gets the column from the
-- migration runner (by hand: ALTER TABLE db_events ADD COLUMN old_values JSON NULL).

CREATE TABLE IF NOT EXISTS db_events (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    entity          VARCHAR(100) NOT NULL,
    event_type      VARCHAR(10) NOT NULL,
    payload         JSON NOT NULL,
    changed_columns JSON NULL,
    created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    -- Updates: the old values of the changed columns, by field name.
    old_values      JSON NULL,
    -- Retention deletes by age; history pages in (created_at, id) order and time
    -- ranges: InnoDB ends every secondary index with the primary key, so this
    -- index is (created_at, id) and serves both without a second one.
    -- History of one entity is paged by id.
    INDEX db_events_created_at_idx (created_at),
    INDEX db_events_entity_id_idx (entity, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
