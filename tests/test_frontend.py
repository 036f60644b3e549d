"""The generated frontend: its own checks (TypeScript strict, vitest, build) and the live page in Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.frontend import browser_page, install_and_build, node_tool
from tests.support.projects import run_in_project
from tests.support.tcp_proxy import TcpProxy

APPEAR_WITHIN_MS = 2000


def test_typescript_strict_and_unit_tests(built_frontend: Path) -> None:
    # Side by side: tsc keeps one core busy, and both take a while.
    with ThreadPoolExecutor(2) as pool:
        checking = pool.submit(node_tool, built_frontend, "typescript/bin/tsc", "--noEmit")
        testing = pool.submit(node_tool, built_frontend, "vitest/vitest.mjs", "run")
        typecheck, unit = checking.result(), testing.result()
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert re.search(r"Tests\s+\d+ passed", re.sub(r"\x1b\[[0-9;]*m", "", unit.stdout)), unit.stdout
    assert (built_frontend / "dist" / "index.html").exists()


def _order(db: TestDatabase, key: str, price: float = 10.5) -> int:
    return db.insert(
        "orders",
        {
            "order_key": key,
            "customer_key": "C-1",
            "order_status": "O",
            "total_price": price,
            "order_date": "2024-05-01",
        },
    )


@pytest.fixture
def live_page(tpch_project: Path, built_frontend: Path, stream_db: TestDatabase) -> Iterator[tuple[Any, BackendServer]]:
    server = BackendServer(tpch_project, stream_db.url, POLL_INTERVAL_MS="100").start()
    try:
        with browser_page(accept_downloads=True, viewport={"width": 1400, "height": 1000}) as page:
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            yield page, server
    finally:
        server.stop()


def _row(page: Any, table: str, key: str) -> Any:
    return page.get_by_test_id(f"table-{table}").locator("tr", has_text=key)


def test_rows_inserted_with_sql_appear_and_controls_work(
    live_page: tuple[Any, BackendServer], stream_db: TestDatabase
) -> None:
    page, _ = live_page
    _order(stream_db, "E2E-ALPHA", 1234.5)
    _row(page, "Order", "E2E-ALPHA").wait_for(timeout=APPEAR_WITHIN_MS)
    assert "1,234.50" in _row(page, "Order", "E2E-ALPHA").inner_text()  # money: two decimals
    stream_db.insert("products", {"part_key": "P-E2E", "name": "bolt", "retail_price": 2.0})
    _row(page, "Product", "P-E2E").wait_for(timeout=APPEAR_WITHIN_MS)

    # Search narrows the rows shown.
    _order(stream_db, "E2E-BETA")
    _row(page, "Order", "E2E-BETA").wait_for(timeout=APPEAR_WITHIN_MS)
    page.get_by_label("Search the rows shown").fill("beta")
    page.wait_for_function("() => !document.querySelector('[data-testid=table-Order]').innerText.includes('E2E-ALPHA')")
    assert _row(page, "Order", "E2E-BETA").count() == 1
    page.get_by_label("Search the rows shown").fill("")

    # The entity filter hides a table, and remembers it across a reload.
    page.get_by_text("Product", exact=False).locator("xpath=ancestor-or-self::label").first.click()
    page.get_by_test_id("table-Product").wait_for(state="detached")
    page.reload()
    page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
    assert page.get_by_test_id("table-Product").count() == 0

    # Pause keeps receiving but shows nothing new until resumed.
    page.get_by_role("button", name=re.compile("Pause")).click()
    _order(stream_db, "E2E-PAUSED")
    page.get_by_role("button", name=re.compile(r"Resume \(1 waiting\)")).wait_for(timeout=5000)
    assert _row(page, "Order", "E2E-PAUSED").count() == 0
    page.get_by_role("button", name=re.compile("Resume")).click()
    _row(page, "Order", "E2E-PAUSED").wait_for(timeout=APPEAR_WITHIN_MS)

    # CSV export of the rows shown, honoring the search.
    page.get_by_label("Search the rows shown").fill("e2e-")
    page.wait_for_timeout(400)
    with page.expect_download() as download_info:
        page.get_by_test_id("table-Order").get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
    assert sorted(row["order_key"] for row in rows) == ["E2E-ALPHA", "E2E-BETA", "E2E-PAUSED"]
    assert {row["event_type"] for row in rows} == {"insert"}


def test_page_recovers_after_a_backend_restart(live_page: tuple[Any, BackendServer], stream_db: TestDatabase) -> None:
    page, server = live_page
    _order(stream_db, "BEFORE-RESTART")
    _row(page, "Order", "BEFORE-RESTART").wait_for(timeout=APPEAR_WITHIN_MS)
    server.stop()
    page.get_by_test_id("connection-status").filter(has_text="Reconnecting").wait_for(timeout=10_000)
    missed = [f"DURING-RESTART-{n}" for n in range(5)]
    for key in missed:
        _order(stream_db, key)
    server.start()
    page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=60_000)
    _order(stream_db, "AFTER-RESTART")
    for key in [*missed, "AFTER-RESTART"]:
        _row(page, "Order", key).wait_for(timeout=10_000)
    table = page.get_by_test_id("table-Order").inner_text()
    assert table.count("BEFORE-RESTART") == 1  # no row shown twice


def test_feature_flags_of_dashboard_yaml_hide_features(template_repo: Path, tmp_path: Path) -> None:
    import shutil

    from tests.support.databases import temporary_database
    from tests.support.paths import TPCH
    from tests.support.projects import generate, run_in_project

    entities = tmp_path / "entities"
    shutil.copytree(TPCH, entities)
    flags = ("statistics", "filters", "search", "pause", "auto_scroll", "export_csv", "dark_mode")
    (entities / "dashboard.yaml").write_text(
        "dashboard:\n  features:\n" + "".join(f"    {flag}: false\n" for flag in flags)
    )
    project = generate(template_repo, tmp_path / "project", entities)
    install_and_build(project / "frontend")
    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url) as server, browser_page() as page:
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            _order(db, "FLAGS-1")
            _row(page, "Order", "FLAGS-1").wait_for(timeout=APPEAR_WITHIN_MS)
            assert page.get_by_label("Search the rows shown").count() == 0
            assert page.get_by_role("button", name=re.compile("Pause")).count() == 0
            assert page.get_by_role("button", name="Export CSV").count() == 0
            assert page.get_by_role("button", name=re.compile("Dark|Light")).count() == 0
            assert page.get_by_test_id("stats-Order").count() == 0
            assert page.get_by_role("group", name="Entities shown").count() == 0
            # The tables themselves stay: the flags hide controls, not data.
            assert page.get_by_test_id("table-Customer").count() == 1


def test_sign_in_through_the_form_then_live_rows_with_no_token_in_any_url(
    tpch_project: Path, built_frontend: Path, tmp_path: Path
) -> None:
    """With AUTH_TOKEN set the browser signs in once through the form; the token never enters a URL or a log."""
    from tests.support.databases import temporary_database
    from tests.support.projects import run_in_project

    token = "browser-token-0123456789-abcdef"
    visited: list[str] = []
    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        with (
            BackendServer(tpch_project, db.url, AUTH_TOKEN=token, POLL_INTERVAL_MS="100") as server,
            browser_page() as page,
        ):
            page.on("request", lambda request: visited.append(request.url))
            page.goto(server.http + "/")
            assert page.url == server.http + "/login"  # signed out: the login page, not the dashboard
            page.get_by_label("Access token").fill("wrong-token-wrong-token")
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("alert").filter(has_text="not right").wait_for(timeout=5000)
            page.get_by_label("Access token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            _order(db, "SIGNED-IN")
            _row(page, "Order", "SIGNED-IN").wait_for(timeout=APPEAR_WITHIN_MS)

            assert page.url == server.http + "/"
            session = next(c for c in page.context.cookies() if c["name"] == "dashboard_session")
            assert session["httpOnly"] and session["sameSite"] == "Strict" and token not in session["value"]
            assert page.evaluate("document.cookie") == ""  # scripts on the page cannot read the session

            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(server.http + "/login")
            page.goto(server.http + "/")
            assert page.url == server.http + "/login"
            log = server.log()
    assert visited and not any(token in url or "token=" in url for url in visited), visited
    assert token not in log and "token=" not in log
    assert '"WebSocket /ws?compression=deflate" [accepted]' in log  # the access log recorded the socket: no token in it
    # The bundle carries no entity model: table and column names come from /api/entities after sign-in.
    for asset in (built_frontend / "dist").rglob("*"):
        if asset.is_file() and asset.suffix in (".js", ".map", ".html"):
            text = asset.read_text(errors="replace")
            for name in ("order_line_items", "OrderLineItem", "total_price", "customer_key"):
                assert name not in text, (asset.name, name)


def test_page_keeps_its_rows_while_a_killed_backend_waits_for_the_database(
    tpch_project: Path, built_frontend: Path, tmp_path: Path
) -> None:
    """kill -9, then a restart that cannot reach the database: 'starting', rows kept, then resumed, none twice."""
    with temporary_database("postgresql", tmp_path) as db, TcpProxy(db.server.host, db.server.port) as proxy:
        migrated = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        url = db.url_through(proxy.port)
        server = BackendServer(tpch_project, url, POLL_INTERVAL_MS="100").start()
        try:
            with browser_page() as page:
                page.goto(server.http + "/")
                status = page.get_by_test_id("connection-status")
                status.filter(has_text="Live").wait_for(timeout=10_000)
                before = [f"BEFORE-KILL-{n}" for n in range(3)]
                for key in before:
                    _order(db, key)
                for key in before:
                    _row(page, "Order", key).wait_for(timeout=APPEAR_WITHIN_MS)
                assert server.process is not None
                server.process.kill()  # kill -9: no clean shutdown
                server.process.wait()
                proxy.cut()
                during = [f"DURING-OUTAGE-{n}" for n in range(3)]
                for key in during:
                    _order(db, key)  # the writers reach the database directly
                server.start(wait_healthy=False)
                page.locator("[data-testid=connection-status][data-state=starting]").wait_for(timeout=15_000)
                assert "waiting for the database" in status.inner_text()
                for key in before:
                    assert _row(page, "Order", key).count() == 1  # kept while starting
                proxy.restore()
                status.filter(has_text="Live").wait_for(timeout=30_000)
                for key in during:
                    _row(page, "Order", key).wait_for(timeout=10_000)
                table = page.get_by_test_id("table-Order").inner_text()
                for key in [*before, *during]:
                    assert table.count(key) == 1, key
        finally:
            server.stop()


# -- issue 10: row detail, event-type filter, time zones, accessibility -----------------


def test_row_detail_shows_old_to_new_and_the_event_type_filter_is_remembered(
    live_page: tuple[Any, BackendServer], stream_db: TestDatabase
) -> None:
    page, server = live_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.http)
    _order(stream_db, "DETAIL-1", 10.5)
    p = stream_db.placeholder
    stream_db.execute(
        f"UPDATE orders SET total_price = {p}, order_status = {p} WHERE order_key = {p}", (99.5, "F", "DETAIL-1")
    )
    updated = _row(page, "Order", "DETAIL-1").filter(has_text="update")
    updated.wait_for(timeout=APPEAR_WITHIN_MS)
    event_id = updated.get_attribute("data-event-id")

    # Enter on the focused row opens the detail: every column, and old -> new per changed column.
    updated.focus()
    page.keyboard.press("Enter")
    detail = page.get_by_test_id("row-detail")
    detail.wait_for(timeout=2000)
    assert f"Event {event_id}" in detail.get_by_role("heading", level=2).inner_text()
    changes = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in page.get_by_test_id("row-detail-changes").locator("tbody tr").all()
    }
    assert changes == {"total_price": ["10.50", "→", "99.50"], "order_status": ["O", "→", "F"]}
    columns = page.get_by_test_id("row-detail-columns").locator("th span.font-mono").all_inner_texts()
    assert {"id", "order_key", "customer_key", "order_status", "total_price", "order_date"} <= set(columns)
    assert len(columns) > 5  # more than the table's display fields

    # Copy as JSON copies the event as received, old values included.
    detail.get_by_role("button", name="Copy as JSON").click()
    detail.get_by_text("Copied").wait_for(timeout=2000)
    copied = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert (copied["id"], copied["event_type"]) == (int(event_id or 0), "update")
    assert set(copied["old"]) == {"total_price", "order_status"} and copied["old"]["order_status"] == "O"

    # Escape closes it and gives the focus back to the row.
    page.keyboard.press("Escape")
    detail.wait_for(state="detached", timeout=2000)
    assert page.evaluate("document.activeElement.dataset.eventId") == event_id

    # A click opens it too; the close button closes it.
    _row(page, "Order", "DETAIL-1").filter(has_text="insert").click()
    page.get_by_test_id("row-detail").get_by_role("button", name="Close").click()
    page.get_by_test_id("row-detail").wait_for(state="detached", timeout=2000)

    # The event-type filter hides inserts, in the tables and the stream, and is remembered.
    page.get_by_test_id("event-type-filter").get_by_text("insert").click()
    _row(page, "Order", "DETAIL-1").filter(has_text="insert").wait_for(state="detached", timeout=2000)
    assert _row(page, "Order", "DETAIL-1").count() == 1
    assert "1 shown" in page.get_by_test_id("table-Order-count").inner_text()
    page.reload()
    page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
    _row(page, "Order", "DETAIL-1").filter(has_text="update").wait_for(timeout=5000)
    assert _row(page, "Order", "DETAIL-1").filter(has_text="insert").count() == 0
    page.get_by_role("button", name="Stream").click()
    _row(page, "stream", "DETAIL-1").wait_for(timeout=2000)
    assert _row(page, "stream", "DETAIL-1").count() == 1
    page.get_by_test_id("event-type-filter").get_by_text("insert").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=table-stream]').querySelectorAll('tr[data-event-id]').length >= 2"
    )


def _clock(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%I:%M:%S %p")


def test_utc_local_toggle_is_remembered_and_last_event_comes_from_history(
    tpch_project: Path, built_frontend: Path, sqlite_db: TestDatabase
) -> None:
    _order(sqlite_db, "BEFORE-THE-PAGE")  # the page opens on history only: no live event yet
    context = {"timezone_id": "America/New_York", "locale": "en-US", "viewport": {"width": 1400, "height": 1000}}
    with BackendServer(tpch_project, sqlite_db.url, POLL_INTERVAL_MS="100") as server, browser_page(**context) as page:
        page.goto(server.http + "/")
        page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
        row = _row(page, "Order", "BEFORE-THE-PAGE")
        row.wait_for(timeout=5000)
        stamp = datetime.fromisoformat(str(row.locator("time").get_attribute("datetime")).replace("Z", "+00:00"))
        zone = page.get_by_test_id("time-zone")
        assert zone.inner_text() == "Times in local time (America/New_York)"
        assert row.locator("time").inner_text() == _clock(stamp, "America/New_York")
        # "Last event" is the newest event of the history, not "none yet" beside a full table.
        assert page.get_by_test_id("last-event").inner_text() == f"Last event: {_clock(stamp, 'America/New_York')}"
        assert "since the backend started" in page.get_by_test_id("stats-since").inner_text()
        assert "1 event buffered (of 500)" in page.get_by_test_id("table-Order-count").inner_text()

        page.get_by_role("group", name="Time zone").get_by_role("button", name="UTC").click()
        assert zone.inner_text() == "Times in UTC"
        assert row.locator("time").inner_text() == _clock(stamp, "UTC")
        page.reload()
        page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
        _row(page, "Order", "BEFORE-THE-PAGE").wait_for(timeout=5000)
        assert page.get_by_test_id("time-zone").inner_text() == "Times in UTC"
        assert _row(page, "Order", "BEFORE-THE-PAGE").locator("time").inner_text() == _clock(stamp, "UTC")


def test_new_rows_arrive_at_full_strength(live_sqlite_page: tuple[Any, BackendServer], sqlite_db: TestDatabase) -> None:
    page, _ = live_sqlite_page
    _order(sqlite_db, "FRESH-1")
    row = _row(page, "Order", "FRESH-1")
    row.wait_for(timeout=APPEAR_WITHIN_MS)
    # Sampled while the arrival animation runs: the newest row is never dimmed; the
    # highlight is a layer behind it that fades.
    assert row.evaluate("r => getComputedStyle(r).opacity") == "1"
    assert row.evaluate("r => getComputedStyle(r, '::after').animationName") == "row-arrived"
    assert float(row.evaluate("r => getComputedStyle(r, '::after').opacity")) > 0.2
    assert row.evaluate("r => getComputedStyle(r, '::after').zIndex") == "-1"  # behind the text


@pytest.fixture
def live_sqlite_page(
    tpch_project: Path, built_frontend: Path, sqlite_db: TestDatabase
) -> Iterator[tuple[Any, BackendServer]]:
    server = BackendServer(tpch_project, sqlite_db.url, POLL_INTERVAL_MS="100").start()
    try:
        with browser_page(viewport={"width": 1400, "height": 1000}) as page:
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            yield page, server
    finally:
        server.stop()


AXE_SERIOUS = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violation_on_the_main_views(
    tpch_project: Path, built_frontend: Path, sqlite_db: TestDatabase, scheme: str
) -> None:
    axe = built_frontend / "node_modules" / "axe-core" / "axe.min.js"
    context = {"color_scheme": scheme, "viewport": {"width": 1400, "height": 1000}}
    with BackendServer(tpch_project, sqlite_db.url, POLL_INTERVAL_MS="100") as server, browser_page(**context) as page:
        page.goto(server.http + "/")
        page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
        assert page.evaluate("document.documentElement.classList.contains('dark')") == (scheme == "dark")
        _order(sqlite_db, "AXE-1")
        p = sqlite_db.placeholder
        sqlite_db.execute(f"UPDATE orders SET order_status = {p} WHERE order_key = {p}", ("F", "AXE-1"))
        sqlite_db.insert("products", {"part_key": "P-AXE", "name": "bolt", "retail_price": 2.0})
        _row(page, "Order", "AXE-1").filter(has_text="update").wait_for(timeout=APPEAR_WITHIN_MS)
        _row(page, "Product", "P-AXE").wait_for(timeout=APPEAR_WITHIN_MS)
        page.wait_for_timeout(1600)  # the arrival highlight has faded: contrast is judged at rest
        page.add_script_tag(path=str(axe))
        found: dict[str, list[str]] = {"tables": page.evaluate(AXE_SERIOUS)}
        _row(page, "Order", "AXE-1").filter(has_text="update").click()
        page.get_by_test_id("row-detail").wait_for(timeout=2000)
        found["row detail"] = page.evaluate(AXE_SERIOUS)
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Stream").click()
        _row(page, "stream", "AXE-1").first.wait_for(timeout=2000)
        page.wait_for_timeout(1600)
        found["stream"] = page.evaluate(AXE_SERIOUS)
        page.get_by_role("button", name="Tables").click()
        page.get_by_test_id("view-Order-rows").click()
        rows = page.get_by_test_id("rows-Order")
        rows.locator("tr[data-row-key]", has_text="AXE-1").wait_for(timeout=5000)
        found["current rows"] = page.evaluate(AXE_SERIOUS)
        rows.locator("tr[data-row-key]", has_text="AXE-1").click()
        page.get_by_test_id("row-detail").wait_for(timeout=2000)
        found["current row detail"] = page.evaluate(AXE_SERIOUS)
        page.keyboard.press("Escape")
        assert found == {"tables": [], "row detail": [], "stream": [], "current rows": [], "current row detail": []}


def test_every_control_is_reachable_with_tab_and_shows_its_focus(
    live_sqlite_page: tuple[Any, BackendServer], sqlite_db: TestDatabase
) -> None:
    page, _ = live_sqlite_page
    _order(sqlite_db, "TAB-1")
    _row(page, "Order", "TAB-1").wait_for(timeout=APPEAR_WITHIN_MS)
    reached: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            break  # past the last control
        focused = page.evaluate(
            """() => {
              const e = document.activeElement;
              const style = getComputedStyle(e);
              const outlined = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
              const label = e.closest("label")?.innerText || e.getAttribute("aria-label") || e.innerText || "";
              return { tag: e.tagName, label: label.trim().slice(0, 40), outlined };
            }"""
        )
        assert focused["outlined"], focused  # a visible focus ring on every stop
        reached.append(f"{focused['tag']}:{focused['label']}")
    text = "\n".join(reached)
    for control in ("Dark", "Local", "UTC", "insert", "delete", "Search", "Tables", "Stream", "Pause", "Export CSV"):
        assert control in text, (control, reached)
    assert any(stop.startswith("TR:") and "TAB-1" in stop for stop in reached), reached  # rows open the detail
    _order(sqlite_db, "TAB-2")
    _row(page, "Order", "TAB-2").wait_for(timeout=APPEAR_WITHIN_MS)
    # One Tab stop per table, its newest row; the arrow keys move between rows.
    newest = _row(page, "Order", "TAB-2")
    newest.focus()
    page.keyboard.press("ArrowDown")
    assert "TAB-1" in page.evaluate("document.activeElement.innerText")
    assert _row(page, "Order", "TAB-1").get_attribute("tabindex") == "-1"
