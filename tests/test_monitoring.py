"""The generated project's monitoring/: Prometheus config and rules, the Grafana dashboard, the compose profile.

Validated with the real tools: `promtool check config` / `check rules` (Debian
package `prometheus`) on the generated files and `promtool check metrics` on a
real `/metrics` scrape (through AUTH_TOKEN, as Prometheus does), for every
database choice; the compose profile with the Compose v2 binary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.backend_server import BackendServer
from tests.support.databases import temporary_database
from tests.support.paths import COMPOSE, TPCH
from tests.support.projects import generate, run_in_project

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")
TOKEN = "monitoring-token-0123456789"

RULES = """
  alerts:
    - {name: orders-burst, entity: Order, event_types: [insert], when: "count > 100 per 1m"}
    - {name: etl-stalled, entity: Order, when: "stale 10m", for: 2m}
    - {name: big-order, entity: Order, when: "total_price > 100000"}
    - {name: failed, entity: Order, when: "order_status == 'F'", for: 90s}
    - {name: quiet, when: "count < 5 per 10m"}
"""


def _promtool(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not Path(PROMTOOL).exists():
        pytest.fail("promtool is missing: apt-get install -y prometheus")
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module", params=DIALECTS)
def project(request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp(f"monitoring-{request.param}")
    folder = base / "entities"
    shutil.copytree(TPCH, folder)
    (folder / "dashboard.yaml").write_text((folder / "dashboard.yaml").read_text() + RULES)
    return generate(template_repo, base / "dash", folder, database=request.param)


def _database(project: Path) -> str:
    return str(yaml.safe_load((project / ".copier-answers.yml").read_text())["database"])


def test_promtool_accepts_the_config_and_the_rules(project: Path) -> None:
    monitoring = project / "monitoring"
    # The token file prometheus.yml names, where monitoring/README.md says to put it outside compose.
    (monitoring / "secrets" / "auth_token").write_text(TOKEN)
    try:
        config = _promtool("check", "config", "prometheus.yml", cwd=monitoring)
        assert config.returncode == 0, config.stdout + config.stderr
        assert "1 rule files found" in config.stdout
        # git keeps the token out of the repository.
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "monitoring/secrets/auth_token"], cwd=project, check=False
        )
        assert ignored.returncode == 0
    finally:
        (monitoring / "secrets" / "auth_token").unlink()
    missing = _promtool("check", "config", "prometheus.yml", cwd=monitoring)
    assert missing.returncode != 0 and "auth_token" in missing.stdout + missing.stderr

    rules = _promtool("check", "rules", "alerts.yml", cwd=monitoring)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 5 rules found" in rules.stdout
    names = [rule["alert"] for rule in yaml.safe_load((monitoring / "alerts.yml").read_text())["groups"][0]["rules"]]
    assert names == ["orders-burst", "etl-stalled", "big-order", "failed", "quiet"]


def test_a_project_without_rules_ships_an_empty_valid_rule_file(template_repo: Path, tmp_path: Path) -> None:
    project = generate(template_repo, tmp_path / "plain", TPCH)
    rules = _promtool("check", "rules", "alerts.yml", cwd=project / "monitoring")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 0 rules found" in rules.stdout


def _metric_names(text: str) -> set[str]:
    """The backend's metric names that PromQL expressions in ``text`` read."""
    return set(re.findall(r"\b(dashboard_[a-z0-9_]+)\b", text))


def test_promtool_accepts_a_real_scrape_and_it_has_every_metric_the_rules_and_panels_read(
    project: Path, tmp_path: Path
) -> None:
    dialect = _database(project)
    with temporary_database(dialect, tmp_path) as db:
        migrated = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url, AUTH_TOKEN=TOKEN) as server:
            db.insert(
                "orders",
                {"order_key": "O-1", "customer_key": "C-1", "order_status": "F", "total_price": 250000.0,
                 "order_date": "2024-05-01"},
            )  # fmt: skip
            assert server.status("/metrics") == 401  # behind the gate, as monitoring/README.md says
            request = urllib.request.Request(server.http + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            scrape = ""
            for _ in range(100):  # until the order's event has been delivered
                with urllib.request.urlopen(request, timeout=10) as response:
                    scrape = response.read().decode()
                if 'dashboard_alert_matches_total{rule="big-order"} 1.0' in scrape:
                    break
                time.sleep(0.1)
    assert 'dashboard_alert_matches_total{rule="big-order"} 1.0' in scrape
    assert 'dashboard_alert_firing{rule="big-order"} 1.0' in scrape
    assert 'dashboard_entity_events_total{entity="Order",event_type="insert"} 1.0' in scrape
    checked = _promtool("check", "metrics", cwd=project, stdin=scrape)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    exposed = set(re.findall(r"^([a-z_][a-z0-9_]*)(?:\{| )", scrape, re.MULTILINE))
    read = _metric_names((project / "monitoring" / "alerts.yml").read_text())
    board = json.loads((project / "monitoring" / "grafana" / "dashboards" / "dashboard.json").read_text())
    expressions = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    read |= _metric_names("\n".join(expressions))
    assert read, "no metric found in the rules and panels"
    assert read <= exposed, f"read but never exposed: {sorted(read - exposed)}"
    # The panels the issue asks for.
    titles = " ".join(panel["title"].lower() for panel in board["panels"])
    for word in ("events per second", "lag", "clients", "gaps", "alert"):
        assert word in titles


def test_the_grafana_provisioning_points_at_the_dashboard_and_the_data_source(project: Path) -> None:
    grafana = project / "monitoring" / "grafana"
    sources = yaml.safe_load((grafana / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = sources["datasources"][0]["uid"]
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    board = json.loads((grafana / "dashboards" / "dashboard.json").read_text())
    used = {target["datasource"]["uid"] for panel in board["panels"] for target in panel["targets"]}
    assert used == {uid}
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    providers = yaml.safe_load((grafana / "provisioning" / "dashboards" / "dashboard.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_compose_profile_runs_prometheus_and_grafana_with_the_files(project: Path) -> None:
    env_file = project / ".env"
    env_file.write_text("DB_PASSWORD=app0secret1\nDB_ROOT_PASSWORD=root0secret2\nAUTH_TOKEN=\n")
    try:
        base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
        result = subprocess.run(
            [str(COMPOSE), "-f", "docker-compose.yml", "--profile", "monitoring", "config", "--format", "json"],
            cwd=project, env=base, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        config = json.loads(result.stdout)
        plain = subprocess.run(
            [str(COMPOSE), "-f", "docker-compose.yml", "config", "--format", "json"],
            cwd=project, env=base, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert plain.returncode == 0, plain.stderr
    finally:
        env_file.unlink()
    services = config["services"]
    assert {"prometheus", "grafana"} <= set(services)
    assert not {"prometheus", "grafana"} & set(json.loads(plain.stdout)["services"])  # only under the profile
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for volume in services[name]["volumes"]:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), volume["source"]
    prometheus = services["prometheus"]
    mounts = {volume["target"]: Path(volume["source"]) for volume in prometheus["volumes"] if volume["type"] == "bind"}
    assert mounts["/etc/prometheus/prometheus.yml"] == project / "monitoring" / "prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == project / "monitoring" / "alerts.yml"
    # The token reaches the file prometheus.yml reads (relative to itself), from AUTH_TOKEN.
    scrape = yaml.safe_load((project / "monitoring" / "prometheus.yml").read_text())["scrape_configs"][0]
    credentials = scrape["authorization"]["credentials_file"]
    assert [secret["target"] for secret in prometheus["secrets"]] == [f"/etc/prometheus/{credentials}"]
    assert config["secrets"]["auth_token"]["environment"] == "AUTH_TOKEN"
    assert scrape["static_configs"][0]["targets"] == ["backend:8000"]
    assert "backend" in services
