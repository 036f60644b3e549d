"""The FastAPI application.

Run from the project root::

    DATABASE_URL=postgresql://app@127.0.0.1:5432/app python -m uvicorn backend.main:app --port 8000
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from .api.alerts import router as alerts_router
from .api.frontend import Frontend
from .api.routes import public_router, router
from .api.rows import router as rows_router
from .api.security import AccessGate
from .api.session import router as session_router
from .db.database import describe_error
from .model import Model, load_model
from .runtime import Runtime, build_runtime
from .settings import Settings, SettingsError, load_settings
from .stream.websocket import websocket_endpoint

log = logging.getLogger("dashboard")

ROW_COUNT_REFRESH_S = 30.0


async def _refresh_row_counts(runtime: Runtime) -> None:
    last_error: str | None = None
    while True:
        if runtime.stream.healthy:
            try:
                await runtime.stats.refresh_row_counts(runtime.db)
                last_error = None
            except Exception as error:  # noqa: BLE001 - retried on the next round
                # The stream is up, so this is lasting (a dropped table, no SELECT right):
                # said once, retried at the normal pace rather than every second.
                message = describe_error(error)
                if message != last_error:
                    log.warning("row counts not refreshed (retrying every %.0f s): %s", ROW_COUNT_REFRESH_S, message)
                last_error = message
        await asyncio.sleep(ROW_COUNT_REFRESH_S if runtime.stream.healthy else 0.1)


def _freeze_startup_objects() -> None:
    """Keeps what the process built to start (modules, the app, its routes and models) out of every
    later full garbage collection.

    A full collection walks every object the collector tracks and holds the event loop meanwhile: with
    a thousand clients, 90-200 ms pauses every few seconds, which every client waits out. The objects
    made to start live as long as the process, so walking them again finds nothing; frozen, they are
    never walked, and what the collector still tracks is what the connections and batches made since.
    """
    gc.collect()
    gc.freeze()


OPEN_FILES_BESIDES_CLIENTS = 256
"""Descriptors beyond one per WebSocket: the database pool, the listener, files, the webhook."""


def raise_open_file_limit(max_clients: int) -> int:
    """Raise the soft limit on open files towards what ``WS_MAX_CLIENTS`` connections need (up to the hard
    limit); warn when it stays below. Returns the soft limit now.

    Many hosts and container runtimes start processes at a soft limit of 1,024: past about a thousand
    WebSockets, accept() would fail (clients hang instead of getting 1013 "server full") and so would
    anything else that needs a descriptor, reconnecting the database pool included.
    """
    wanted = max_clients + OPEN_FILES_BESIDES_CLIENTS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < wanted:
        log.warning(
            "open files are limited to %d: fewer than WS_MAX_CLIENTS (%d) connections fit; "
            "raise the limit (ulimit -n, or the container's nofile) or lower WS_MAX_CLIENTS",
            soft,
            max_clients,
        )
    return int(soft)


def create_app(settings: Settings, model: Model) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, model)
        app.state.runtime = runtime
        tasks = [
            asyncio.create_task(runtime.stream.run(), name="stream"),
            asyncio.create_task(runtime.stream.watch(), name="stream-watchdog"),
            asyncio.create_task(_refresh_row_counts(runtime), name="row-counts"),
            asyncio.create_task(runtime.retention.run(), name="retention"),
            asyncio.create_task(runtime.alerts.run(), name="alerts"),
        ]
        if runtime.webhook is not None:
            tasks.append(asyncio.create_task(runtime.webhook.run(), name="alert-webhook"))
        if runtime.webhook_sender is not None:
            tasks.append(asyncio.create_task(runtime.webhook_sender.run(), name="alert-webhook-sender"))
        log.info("dashboard backend on %s (%s)", settings.database.display, settings.database.dialect)
        raise_open_file_limit(settings.max_clients)
        _freeze_startup_objects()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await runtime.db.disconnect_quietly()

    app = FastAPI(title="Real-time dashboard", lifespan=lifespan)
    # Inside CORS, so preflight requests (which carry no credentials) are answered first.
    app.add_middleware(AccessGate, settings=settings)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET"],
        allow_headers=["Authorization", "X-Dashboard-Token"],
    )
    app.include_router(router)
    app.include_router(rows_router)
    app.include_router(alerts_router)
    app.include_router(public_router)
    app.include_router(session_router)
    app.add_api_websocket_route("/ws", websocket_endpoint)
    # Last, so the API routes win; it serves the build, or says how to make one.
    app.mount("/", Frontend(settings.frontend_dist), name="frontend")
    return app


def _app_from_environment() -> FastAPI:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The driver layer says "Connected to database" at INFO for every pool it opens, even one that
    # fails its first query: beside our own warning, that reads as if the database were reached.
    logging.getLogger("databases").setLevel(logging.WARNING)
    model = load_model()
    try:
        settings = load_settings(model)
    except SettingsError as error:
        # SystemExit at import: uvicorn exits with this one line, not a traceback.
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    return create_app(settings, model)


app = _app_from_environment()
