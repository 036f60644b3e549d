-- Optional (python -m backend.migrate --notify): wakes the backend on commit.
-- Without --notify, migrate removes these two objects again; --drop always does.
-- Cost: docs/benchmarks.md ("NOTIFY wake-up"); it is more than 5% of a
-- single-row commit, so it is not installed by default.
-- Wakes the backend on commit: a NOTIFY per INSERT statement into db_events,
-- delivered when the writing transaction commits (never if it rolls back).
-- PostgreSQL folds identical notifications of one transaction into one. The
-- payload is empty: the backend still reads db_events with its gap-aware
-- cursor, so a lost notification only waits for the next timed poll.
-- The one way NOTIFY can fail a COMMIT is a full notification queue (8 GB):
-- that takes a listening session that stops reading for days at 1,000
-- commits/s. The backend's listener holds no transaction and reads each
-- notification as it arrives; a backend that exits ends its session.
CREATE OR REPLACE FUNCTION db_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('db_events', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER db_events_notify
    AFTER INSERT ON db_events
    FOR EACH STATEMENT EXECUTE FUNCTION db_events_notify();
