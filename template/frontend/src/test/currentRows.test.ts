import { describe, expect, it } from "vitest";
import {
  applyRowEvents,
  compareKeysDescending,
  DELETED_VISIBLE_MS,
  fromSnapshot,
  parseRowsPage,
  pruneDeleted,
  reflects,
  rowsPath,
  type RowsSnapshot,
} from "../lib/currentRows";
import type { DbEvent, JsonValue } from "../lib/types";

const now = 1_700_000_000_000;

function event(
  id: number,
  type: DbEvent["event_type"],
  data: Record<string, JsonValue>,
  changed: string[] | null = null,
  old: Record<string, JsonValue> | null = null,
): DbEvent {
  return { id, entity: "Order", event_type: type, data, changed, old, timestamp: new Date(now).toISOString() };
}

const snapshot = (rows: Record<string, JsonValue>[], lastEventId = 10, pending: [number, number][] = []): RowsSnapshot => ({
  key: "id",
  lastEventId,
  pending,
  rows,
});

const keys = (state: { rows: readonly { key: unknown; deletedAt: number | null }[] }) =>
  state.rows.filter((row) => row.deletedAt === null).map((row) => row.key);

describe("current rows", () => {
  it("reads the page the backend sends, and refuses anything else", () => {
    const body = { entity: "Order", key: "id", last_event_id: 7, pending_event_ids: [[3, 4]], next_after_key: null, rows: [{ id: 1 }] };
    expect(parseRowsPage(body)).toEqual({ key: "id", lastEventId: 7, pending: [[3, 4]], rows: [{ id: 1 }] });
    expect(parseRowsPage({ ...body, pending_event_ids: [[4, 3]] })).toBeNull();
    expect(parseRowsPage({ ...body, rows: [1] })).toBeNull();
    expect(parseRowsPage({ ...body, last_event_id: "7" })).toBeNull();
    expect(parseRowsPage(null)).toBeNull();
    expect(rowsPath("Order Line/Item", 500)).toBe("/api/rows/Order%20Line%2FItem?limit=500");
  });

  it("applies exactly the events the snapshot does not reflect: above its head, or in flight below it", () => {
    const state = { lastEventId: 10, pending: [[4, 5], [8, 8]] as const };
    expect([1, 3, 4, 5, 6, 8, 9, 10, 11].filter((id) => !reflects(state, id))).toEqual([4, 5, 8, 11]);

    let rows = fromSnapshot(snapshot([{ id: 2, v: "b" }, { id: 1, v: "a" }], 10, [[7, 7]]), 100);
    rows = applyRowEvents(
      rows,
      [
        event(9, "insert", { id: 2, v: "stale" }), // reflected: ignored
        event(7, "update", { id: 1, v: "late" }, ["v"], { v: "a" }), // committed after the snapshot
        event(11, "insert", { id: 3, v: "c" }),
      ],
      now,
    );
    expect(rows.rows.map((row) => row.data)).toEqual([{ id: 3, v: "c" }, { id: 2, v: "b" }, { id: 1, v: "late" }]);
    expect(rows.count).toBe(3);
  });

  it("keeps an update's changed fields and old values, and moves a row whose key changed", () => {
    let rows = fromSnapshot(snapshot([{ id: 5, v: "x" }, { id: 4, v: "y" }]), 100);
    rows = applyRowEvents(rows, [event(11, "update", { id: 4, v: "z" }, ["v"], { v: "y" })], now);
    const updated = rows.rows.find((row) => row.key === 4);
    expect(updated).toMatchObject({ changed: ["v"], old: { v: "y" }, eventId: 11, data: { id: 4, v: "z" } });
    // The primary key changes: the row leaves its old key and appears at the new one.
    rows = applyRowEvents(rows, [event(12, "update", { id: 9, v: "z" }, ["id"], { id: 4 })], now);
    expect(keys(rows)).toEqual([9, 5]);
    expect(rows.rows[0]).toMatchObject({ changed: ["id"], old: { id: 4 } });
  });

  it("strikes a deleted row through for a moment, then drops it; it no longer counts", () => {
    let rows = fromSnapshot(snapshot([{ id: 2 }, { id: 1 }]), 100);
    rows = applyRowEvents(rows, [event(11, "delete", { id: 2 })], now);
    expect(rows.rows.map((row) => [row.key, row.deletedAt])).toEqual([[2, now], [1, null]]);
    expect(rows.count).toBe(1);
    expect(pruneDeleted(rows, now + DELETED_VISIBLE_MS - 1)).toBe(rows);
    expect(pruneDeleted(rows, now + DELETED_VISIBLE_MS).rows.map((row) => row.key)).toEqual([1]);
    // A key inserted again while struck through is a live row again.
    rows = applyRowEvents(rows, [event(12, "insert", { id: 2 })], now);
    expect(rows.rows[0]).toMatchObject({ key: 2, deletedAt: null });
    expect(rows.count).toBe(2);
  });

  it("holds at most `cap` rows, evicting the oldest keys", () => {
    let rows = fromSnapshot(snapshot([{ id: 5 }, { id: 4 }, { id: 3 }, { id: 2 }]), 3);
    expect(keys(rows)).toEqual([5, 4, 3]);
    rows = applyRowEvents(rows, [event(11, "insert", { id: 6 }), event(12, "insert", { id: 7 })], now);
    expect(keys(rows)).toEqual([7, 6, 5]);
    // An update of a row older than all held ones comes and goes at once.
    rows = applyRowEvents(rows, [event(13, "update", { id: 1 }, ["id"], { id: 0 })], now);
    expect(keys(rows)).toEqual([7, 6, 5]);
    const many = Array.from({ length: 1000 }, (_, index) => event(100 + index, "insert", { id: 100 + index }));
    expect(applyRowEvents(rows, many, now).rows).toHaveLength(3);
  });

  it("orders keys newest first: strings by code units above numbers by value (as SQLite), 1 and '1' apart", () => {
    const sorted = ["b", 10, 2, "a", "B"].sort(compareKeysDescending);
    expect(sorted).toEqual(["b", "a", "B", 10, 2]);
    const rows = applyRowEvents(fromSnapshot({ ...snapshot([{ id: 1 }]) }, 10), [event(11, "insert", { id: "1" })], now);
    expect(rows.count).toBe(2);
  });

  it("matches a plain model over random inserts, updates, key changes and deletes, in order and bounded", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const model = new Map<number, number>(); // key -> version
    let state = fromSnapshot(snapshot([]), 40);
    let id = 100;
    for (let batch = 0; batch < 200; batch += 1) {
      const events: DbEvent[] = [];
      for (let n = Math.floor(random() * 5); n >= 0; n -= 1) {
        id += 1;
        const keys = [...model.keys()];
        const key = keys[Math.floor(random() * keys.length)];
        const choice = random();
        if (key === undefined || choice < 0.4) {
          const fresh = Math.floor(random() * 1000);
          if (model.has(fresh)) continue;
          model.set(fresh, id);
          events.push(event(id, "insert", { id: fresh, v: id }));
        } else if (choice < 0.7) {
          model.set(key, id);
          events.push(event(id, "update", { id: key, v: id }, ["v"], { v: 0 }));
        } else if (choice < 0.85) {
          const moved = Math.floor(random() * 1000);
          if (model.has(moved)) continue;
          model.delete(key);
          model.set(moved, id);
          events.push(event(id, "update", { id: moved, v: id }, ["id"], { id: key }));
        } else {
          model.delete(key);
          events.push(event(id, "delete", { id: key }));
        }
      }
      state = pruneDeleted(applyRowEvents(state, events, now + batch), now + batch + DELETED_VISIBLE_MS);
      const held = state.rows.map((row) => row.key as number);
      expect(held).toEqual([...held].sort((a, b) => b - a));
      expect(state.count).toBeLessThanOrEqual(40);
      for (const row of state.rows) expect(row.data.v).toBe(model.get(row.key as number));
    }
  });

  it("leaves the state as it is when nothing applies", () => {
    const rows = fromSnapshot(snapshot([{ id: 1 }]), 10);
    expect(applyRowEvents(rows, [event(3, "insert", { id: 7 })], now)).toBe(rows);
  });
});
