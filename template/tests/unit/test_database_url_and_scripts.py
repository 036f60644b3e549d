"""Unit tests of DATABASE_URL parsing and migration-script splitting (no database needed)."""

from __future__ import annotations

import pytest

from backend.capture.sql_script import split_statements
from backend.db.url import DatabaseUrlError, parse_database_url


@pytest.mark.parametrize(
    ("url", "dialect", "driver_url"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql", "postgresql://u:p@db:5432/app"),
        ("postgres://u@db/app", "postgresql", "postgresql://u@db/app"),
        ("mysql://root@127.0.0.1:3306/app", "mysql", "mysql://root@127.0.0.1:3306/app"),
        ("mariadb://root@127.0.0.1/app", "mariadb", "mysql://root@127.0.0.1/app"),
        ("sqlite:///dashboard.db", "sqlite", "sqlite:///dashboard.db"),
        ("sqlite:////srv/data/dashboard.db", "sqlite", "sqlite:////srv/data/dashboard.db"),
        ("  postgresql://u@h/app  ", "postgresql", "postgresql://u@h/app"),
        # Driver-qualified URLs from other tools: the driver is ignored, ours is used.
        ("postgresql+asyncpg://u@db/app", "postgresql", "postgresql://u@db/app"),
        ("postgresql+psycopg://u@db/app", "postgresql", "postgresql://u@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql", "postgresql://u@db/app"),
        ("mysql+pymysql://root@127.0.0.1:3306/app", "mysql", "mysql://root@127.0.0.1:3306/app"),
        ("mysql+aiomysql://root@127.0.0.1/app", "mysql", "mysql://root@127.0.0.1/app"),
        ("MariaDB+PyMySQL://root@127.0.0.1/app", "mariadb", "mysql://root@127.0.0.1/app"),
        ("mariadb+mariadbconnector://root@127.0.0.1/app", "mariadb", "mysql://root@127.0.0.1/app"),
        ("sqlite+aiosqlite:///dashboard.db", "sqlite", "sqlite:///dashboard.db"),
    ],
)
def test_urls_pick_the_dialect(url: str, dialect: str, driver_url: str) -> None:
    target = parse_database_url(url)
    assert (target.dialect, target.driver_url) == (dialect, driver_url)


@pytest.mark.parametrize(
    "url", ["oracle://u@db/app", "mysql+://root@db/app", "mysql+py-mysql://root@db/app", "+pymysql://db/app"]
)
def test_unknown_schemes_are_refused_in_one_line(url: str) -> None:
    with pytest.raises(DatabaseUrlError, match="unknown scheme") as caught:
        parse_database_url(url)
    assert "\n" not in str(caught.value)


def test_password_never_shown() -> None:
    target = parse_database_url("postgresql://app:s3cret@db.internal:5432/app")
    assert target.display == "postgresql://app:***@db.internal:5432/app"
    with pytest.raises(DatabaseUrlError) as caught:
        parse_database_url("postgresql://app:s3cret@db.internal:5432")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(DatabaseUrlError) as caught:
        parse_database_url("postgresql://app:s3cret@db.internal:port/app")
    assert "s3cret" not in str(caught.value)


def test_generic_split_respects_quotes_comments_and_dollar_quotes() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO t VALUES ('a;b', "c;d"); -- inside
        RETURN NULL;
    END
    $$;
    /* block; comment */
    SELECT 'it''s; fine';
    SELECT $tag$ ; $tag$;
    """
    statements = split_statements(script, "postgresql")
    assert len(statements) == 3
    assert statements[0].startswith("-- a comment; with a semicolon\n    CREATE FUNCTION")
    assert statements[0].endswith("$$")
    assert statements[1].endswith("SELECT 'it''s; fine'")
    assert statements[2] == "SELECT $tag$ ; $tag$"


def test_mysql_split_knows_backslash_escapes_and_hash_comments() -> None:
    script = "SELECT 'a\\';b';\n# hash; comment\nSELECT `we;ird`;\n"
    assert split_statements(script, "mysql") == ["SELECT 'a\\';b'", "# hash; comment\nSELECT `we;ird`"]


def test_sqlite_split_keeps_trigger_bodies_whole() -> None:
    script = (
        "CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW\nBEGIN\n    INSERT INTO a VALUES (1);\n"
        "    INSERT INTO b VALUES (2);\nEND;\nSELECT 1;\n-- trailing comment\n"
    )
    statements = split_statements(script, "sqlite")
    assert len(statements) == 2
    assert statements[0].endswith("END;")
    assert statements[1] == "SELECT 1;"
