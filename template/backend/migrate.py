"""Install or remove change capture on the database named by ``DATABASE_URL``.

Run from the project root::

    DATABASE_URL=postgresql://app@127.0.0.1/app python -m backend.migrate
    DATABASE_URL=sqlite:///demo.db python -m backend.migrate --create-entity-tables
    DATABASE_URL=mysql://root@127.0.0.1/app python -m backend.migrate --drop

The dialect comes from the URL scheme and picks ``migrations/<dialect>/``.
Applying is idempotent: tables and indexes are created if missing and triggers
replaced. Triggers and functions of ours (named ``dashboard_*``) that the
current entity model no longer wants (a removed entity, an event type no
longer tracked) are dropped, so the database always matches the model.

Before changing anything it compares the live tables with the model (tables,
columns, type families, names that differ only in case) and, on any mismatch,
prints one line per problem with its fix, exits with 1 and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from .capture.runner import MigrationError, check_notify, planned_files, run, script_text, url_database
from .db.database import DatabaseUnavailable
from .db.url import DatabaseUrlError, parse_database_url
from .model import load_model


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m backend.migrate",
        description="Install (default) or remove the db_events change log and its triggers.",
    )
    parser.add_argument("--database-url", help="overrides the DATABASE_URL environment variable")
    parser.add_argument("--drop", action="store_true", help="remove db_events, our triggers and functions")
    parser.add_argument(
        "--create-entity-tables",
        action="store_true",
        help="also create the entity tables from the model (demos, tests); with --drop, drop them",
    )
    parser.add_argument(
        "--notify",
        action="store_true",
        help="PostgreSQL: also install the NOTIFY trigger that wakes the backend on commit "
        "(lower latency, some cost per commit: see docs); without it, migrate removes that trigger",
    )
    parser.add_argument("--print", action="store_true", help="print the SQL instead of running it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        target = parse_database_url(args.database_url or os.environ.get("DATABASE_URL"))
        check_notify(target.dialect, notify=args.notify, drop=args.drop)
        if args.print:
            files = planned_files(
                target.dialect, drop=args.drop, entity_tables=args.create_entity_tables, notify=args.notify
            )
            for name in files:
                print(script_text(target.dialect, name, url_database(target)))
            return 0
        message = asyncio.run(
            run(target, load_model(), drop=args.drop, entity_tables=args.create_entity_tables, notify=args.notify)
        )
    except (DatabaseUrlError, DatabaseUnavailable, MigrationError) as error:
        for line in str(error).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
