"""Smoke tests of this dashboard's backend, in a database of their own (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def migrated_database(database_url: str) -> str:
    """The test run's own database (see conftest.py) with the entity tables and change capture."""
    env = {**os.environ, "DATABASE_URL": database_url}
    for args in (["--create-entity-tables"], ["--create-entity-tables"]):  # twice: idempotent
        subprocess.run([sys.executable, "-m", "backend.migrate", *args], cwd=ROOT, env=env, check=True)
    return database_url


def test_simulated_records_stream_to_a_websocket_client(
    migrated_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = migrated_database
    from backend.main import create_app
    from backend.model import load_model
    from backend.settings import load_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("POLL_INTERVAL_MS", "50")
    monkeypatch.delenv("AUTH_TOKEN", raising=False)  # this test is about the stream, not the login
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")  # the Host that TestClient sends
    model = load_model()
    with TestClient(create_app(load_settings(model), model)) as client:
        with client.websocket_connect("/ws") as ws:
            assert json.loads(ws.receive_text())["type"] == "hello"
            simulate = [sys.executable, "-m", "backend.simulate", "--rate", "20", "--duration", "2", "--seed", "1"]
            subprocess.run(simulate, cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, check=True)
            message = json.loads(ws.receive_text())
            while message["type"] != "events":
                message = json.loads(ws.receive_text())
            first = message["events"][0]
            assert {"id", "entity", "event_type", "data", "timestamp"} <= set(first)
        assert client.get("/health").status_code == 200
        history = client.get("/api/events", params={"after": 0, "limit": 10}).json()
        assert len(history["events"]) == 10
        assert set(client.get("/api/stats").json()["entities"]) == {entity.name for entity in model.entities}
