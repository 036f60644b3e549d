"""History mode, the histogram and playback in Chromium, on each real database (issue 13).

One page session per database, over events whose ``created_at`` the test lays
out itself (a past minute, so the range, the buckets and the playback timing are
known): paging older and newer is exact, the text filter runs on the server, a
click on a histogram bar narrows the range to its bucket, a range older than
what is kept says so, playback at 10x replays with the original spacing / 10
(measured in the page), and back to live nothing that arrived meanwhile is lost.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase
from tests.support.frontend import browser_page, every_drawn_row
from tests.test_frontend import AXE_SERIOUS
from tests.test_history_api import _database_now, _lay_out

ORDERS = 30
PRODUCTS = 25
# 30 orders over 29 s: 2.9 s at 10x, a row every 100 ms (the page has time to render each
# one even on a busy machine: the test measures the schedule, not how starved Chromium is).
ORDER_SPACING = timedelta(seconds=1)
SPEED = 10
TOLERANCE = 0.10

# In the page: the moment each event row first appears (performance.now), by event id.
WATCH_ROWS = """() => {
  window.__seen = new Map();
  // One moment per callback: the rows of one render appeared together.
  const note = (node, now) => {
    if (!(node instanceof Element)) return;
    for (const row of node.matches("tr[data-event-id]") ? [node] : node.querySelectorAll("tr[data-event-id]")) {
      const id = Number(row.dataset.eventId);
      if (!window.__seen.has(id)) window.__seen.set(id, now);
    }
  };
  window.__observer = new MutationObserver((records) => {
    const now = performance.now();
    for (const record of records) for (const node of record.addedNodes) note(node, now);
  });
  window.__observer.observe(document.body, { childList: true, subtree: true });
}"""


def _utc_field(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _slope(xs: list[float], ys: list[float]) -> float:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)


def _field_moment(value: str) -> datetime:
    """A UTC datetime-local field's value (the browser drops ":00" seconds)."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _stream_ids(page: Any) -> list[int]:
    """The ids of every event the stream table holds, top to bottom."""

    def drawn() -> list[int]:
        rows = page.get_by_test_id("table-stream").locator("tr[data-event-id]")
        return [int(str(row.get_attribute("data-event-id"))) for row in rows.all()]

    return every_drawn_row(page, "table-stream", drawn)


def _wait_page(page: Any, text: str) -> None:
    page.get_by_test_id("history-page").filter(has_text=re.compile(f"^{re.escape(text)}$")).wait_for(timeout=10_000)


def _iso_ms(moment: datetime) -> str:
    """As the page's Date.toISOString() writes it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _wait_range(page: Any, since: datetime, until: datetime) -> None:
    shown = page.get_by_test_id("history-range")
    for moment in (since, until):
        shown.locator(f"time[datetime='{_iso_ms(moment)}']").wait_for(timeout=10_000)


def _choose_range(page: Any, since: datetime, until: datetime) -> None:
    bar = page.get_by_test_id("history-bar")
    if bar.get_by_role("button", name="Custom").get_attribute("aria-pressed") != "true":
        bar.get_by_role("button", name="Custom").click()
    bar.get_by_label("From (UTC)").fill(_utc_field(since))
    bar.get_by_label("To (UTC)").fill(_utc_field(until))
    bar.get_by_role("button", name="Apply").click()
    _wait_range(page, since.replace(microsecond=0), until.replace(microsecond=0))


def _order(db: TestDatabase, key: str) -> int:
    row = {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 1.0, "order_date": "2024"}
    return db.insert("orders", row)


def test_history_histogram_playback_and_back_to_live(
    tpch_project: Path, built_frontend: Path, stream_db: TestDatabase
) -> None:
    db = stream_db
    for n in range(ORDERS):
        _order(db, f"HIST-O-{n:02d}")
    for n in range(PRODUCTS):
        db.insert("products", {"part_key": f"HIST-P-{n}", "name": "bolt", "retail_price": 2.0})
    events = db.events()
    assert len(events) == ORDERS + PRODUCTS
    # A past minute M: the orders 5 s to 25 s into it, the products in the minute after.
    minute = (_database_now(db) - timedelta(minutes=15)).replace(second=0, microsecond=0)
    stamps: dict[int, datetime] = {}
    for n, event in enumerate(e for e in events if e["entity"] == "Order"):
        stamps[event["id"]] = minute + timedelta(seconds=5) + n * ORDER_SPACING
    for n, event in enumerate(e for e in events if e["entity"] == "Product"):
        stamps[event["id"]] = minute + timedelta(seconds=65 + n)
    _lay_out(db, stamps)
    newest_first = sorted(stamps, key=lambda i: (stamps[i], i), reverse=True)
    order_ids = [i for i in newest_first if stamps[i] < minute + timedelta(minutes=1)]

    context = {
        "timezone_id": "America/New_York",
        "locale": "en-US",
        "viewport": {"width": 1400, "height": 1100},
        "accept_downloads": True,
    }
    with (
        BackendServer(tpch_project, db.url, POLL_INTERVAL_MS="100", RETENTION_DAYS="7") as server,
        browser_page(**context) as page,
    ):
        page.goto(server.http + "/")
        page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
        page.get_by_role("group", name="Time zone").get_by_role("button", name="UTC").click()

        # -- History mode: the last hour by default, its histogram, and no serious accessibility violation.
        page.get_by_role("group", name="Mode").get_by_role("button", name="History").click()
        bar = page.get_by_test_id("history-bar")
        page.get_by_test_id("histogram").locator("canvas").wait_for(timeout=10_000)
        assert "Events are kept 7 days." in page.get_by_test_id("retention").inner_text()
        _wait_page(page, f"{ORDERS + PRODUCTS} events · newest page")
        page.wait_for_timeout(1600)  # arrival highlights faded: contrast is judged at rest
        page.add_script_tag(path=str(built_frontend / "node_modules" / "axe-core" / "axe.min.js"))
        assert page.evaluate(AXE_SERIOUS) == []

        # -- Paging a custom range 50 at a time: older then newer, nothing missing or twice.
        bar.get_by_label("Per page").select_option("50")
        _choose_range(page, minute - timedelta(minutes=2), minute + timedelta(minutes=3))
        page.get_by_role("button", name="Stream", exact=True).click()
        _wait_page(page, "50 events · newest page")
        page.get_by_test_id("table-stream").locator("tr[data-event-id]").first.wait_for(timeout=5000)
        first = _stream_ids(page)
        bar.get_by_role("button", name="Older →").click()
        _wait_page(page, f"{ORDERS + PRODUCTS - 50} events · 1 page older")
        second = _stream_ids(page)
        assert first + second == newest_first
        assert bar.get_by_role("button", name="Older →").is_disabled()
        # CSV export writes the whole range, not the page on screen.
        with page.expect_download() as download:
            page.get_by_test_id("table-stream").get_by_role("button", name="Export CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert [int(row["event_id"]) for row in rows] == newest_first
        assert page.get_by_test_id("export-status").inner_text() == f"Exported All changes: {ORDERS + PRODUCTS} events."
        bar.get_by_role("button", name="← Newer").click()
        _wait_page(page, "50 events · newest page")
        assert _stream_ids(page) == first

        # -- The search box filters on the server, over the whole range.
        page.get_by_label("Search the rows shown").fill("hist-o-07")
        _wait_page(page, "1 event · newest page")
        assert "HIST-O-07" in page.get_by_test_id("table-stream").inner_text()
        page.get_by_label("Search the rows shown").fill("")
        _wait_page(page, "50 events · newest page")

        # -- A range older than what is kept says so instead of an empty page.
        now = _database_now(db)
        _choose_range(page, now - timedelta(days=30), now - timedelta(days=29))
        note = page.get_by_test_id("retention-note")
        note.wait_for(timeout=10_000)
        assert note.inner_text().startswith("Events older than 7 days are not kept; the oldest kept is from ")
        assert "Nothing of this range is kept." in note.inner_text()

        # -- A click on the bar of minute M narrows the range to it: the products' minute is left out.
        _choose_range(page, minute - timedelta(minutes=2), minute + timedelta(minutes=3))
        _wait_page(page, "50 events · newest page")
        chart = page.get_by_test_id("histogram").locator(".u-over")
        chart.wait_for(timeout=10_000)
        box = chart.bounding_box()
        assert box is not None
        # Five one-minute buckets from M - 2 min: M's bar is the middle one.
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] - 3)
        assert page.get_by_test_id("histogram-readout").inner_text().endswith(f"{ORDERS} events (Order {ORDERS})")
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] - 3)
        _wait_range(page, minute, minute + timedelta(minutes=1))
        _wait_page(page, f"{ORDERS} events · newest page")
        assert _field_moment(bar.get_by_label("From (UTC)").input_value()) == minute
        assert _field_moment(bar.get_by_label("To (UTC)").input_value()) == minute + timedelta(minutes=1)
        assert _stream_ids(page) == order_ids
        assert bar.get_by_role("button", name="Older →").is_disabled()

        # -- Playback of that minute at 10x, measured in the page from the first row to the last.
        page.evaluate(WATCH_ROWS)
        speeds = bar.get_by_role("group", name="Playback speed")
        assert (
            speeds.get_by_role("button", name=f"{SPEED}\N{MULTIPLICATION SIGN}").get_attribute("aria-pressed") == "true"
        )
        bar.get_by_role("button", name="▶ Play this range").click()
        playback = page.get_by_test_id("playback-bar")
        playback.filter(has_text="Playback · Playing").wait_for(timeout=5000)
        assert (
            page.get_by_role("group", name="Mode")
            .get_by_role("button", name="▶ Playback")
            .get_attribute("aria-pressed")
            == "true"
        )
        page.wait_for_function(
            f"() => {[*order_ids]}.every((id) => window.__seen.has(id))", timeout=int(30_000 / SPEED) + 10_000
        )
        seen: dict[str, float] = page.evaluate("() => Object.fromEntries(window.__seen)")
        replayed = [seen[str(i)] for i in reversed(order_ids)]
        assert replayed == sorted(replayed)  # in their order
        original = [(stamps[i] - stamps[order_ids[-1]]).total_seconds() * 1000 for i in reversed(order_ids)]
        expected_ms = original[-1] / SPEED
        # The pace of the replay: the least-squares line of "row shown" against "event time", over
        # all the rows, so one late frame on a busy machine does not decide alone; its slope times the
        # range's span is the wall time the playback took.
        measured_ms = _slope(original, replayed) * original[-1]
        assert abs(measured_ms - expected_ms) <= TOLERANCE * expected_ms, (measured_ms, expected_ms, replayed)
        # Live changes while in playback (after the timed part: the writes load the machine): kept apart.
        live_keys = [f"LIVE-DURING-{n}" for n in range(3)]
        for key in live_keys:
            _order(db, key)
        page.wait_for_timeout(500)  # five of the backend's polls: time to reach the page's live store
        # The original timestamps stay on screen; nothing live mixed in.
        newest = page.get_by_test_id("table-stream").locator(f"tr[data-event-id='{order_ids[0]}'] time")
        assert (
            newest.get_attribute("datetime")
            == stamps[order_ids[0]].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        )
        assert "LIVE-DURING" not in page.get_by_test_id("table-stream").inner_text()

        # -- One click back to live: the changes made during playback are there, once each.
        playback.get_by_role("button", name="Back to live").click()
        playback.wait_for(state="detached", timeout=2000)
        for key in live_keys:
            page.get_by_test_id("table-stream").locator("tr", has_text=key).wait_for(timeout=5000)
        table = page.get_by_test_id("table-stream").inner_text()
        assert all(table.count(key) == 1 for key in live_keys)
        first_to_last = replayed[-1] - replayed[0]
        print(
            f"{db.dialect}: playback at {SPEED}x: {measured_ms:.0f} ms by the fit, "
            f"{first_to_last:.0f} ms first to last row, {expected_ms:.0f} ms expected"
        )
