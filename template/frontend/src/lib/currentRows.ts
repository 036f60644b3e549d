/**
 * The "current rows" of an entity: a snapshot of its table from `/api/rows/{entity}`,
 * then the stream's changes applied in place. Pure functions, no React.
 *
 * The hand-off is exact: the snapshot says which events it already reflects
 * (every id up to `lastEventId` except the `pending` ranges, whose transactions
 * had not committed when the rows were read), and an event is applied iff it is
 * not reflected. Ids become visible out of order, so "after id M" alone would
 * miss the changes of transactions that committed after the snapshot with a
 * smaller id.
 *
 * Memory is bounded: at most `cap` live rows (the entity's max_records); past
 * that the oldest by key go. A deleted row stays, struck through, for
 * DELETED_VISIBLE_MS, and does not count.
 */

import type { DbEvent, JsonValue } from "./types";

export type RowData = Readonly<Record<string, JsonValue>>;
export type RowKey = string | number;

export const DELETED_VISIBLE_MS = 1500;

export interface RowsSnapshot {
  /** The key field (the primary key's field name). */
  readonly key: string;
  readonly lastEventId: number;
  /** Inclusive ranges of ids at or below lastEventId that the snapshot does not reflect. */
  readonly pending: readonly (readonly [number, number])[];
  /** Newest key first. */
  readonly rows: readonly RowData[];
}

export interface CurrentRow {
  readonly key: RowKey;
  readonly data: RowData;
  /** The id of the event that last changed the row; 0 when it comes from the snapshot. */
  readonly eventId: number;
  /** Fields the last update changed (the key when it moved), for the flash. */
  readonly changed: readonly string[];
  /** Their old values, for "was: …". */
  readonly old: RowData | null;
  /** When the row was deleted (ms); null while it exists. */
  readonly deletedAt: number | null;
}

export interface CurrentRows {
  readonly keyField: string;
  readonly cap: number;
  readonly lastEventId: number;
  readonly pending: readonly (readonly [number, number])[];
  /** Newest key first; deleted rows included until they are pruned. */
  readonly rows: readonly CurrentRow[];
  /** Rows that exist (deleted ones excluded). */
  readonly count: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isRange = (value: unknown): value is [number, number] =>
  Array.isArray(value) &&
  value.length === 2 &&
  value.every((item) => typeof item === "number" && Number.isSafeInteger(item)) &&
  (value[0] as number) <= (value[1] as number);

/** The body of `/api/rows/{entity}`, or null when it is not one. */
export function parseRowsPage(body: unknown): RowsSnapshot | null {
  if (!isRecord(body)) return null;
  const { key, last_event_id: lastEventId, pending_event_ids: pending, rows } = body;
  if (typeof key !== "string" || typeof lastEventId !== "number" || !Number.isSafeInteger(lastEventId)) return null;
  if (!Array.isArray(pending) || !pending.every(isRange) || !Array.isArray(rows) || !rows.every(isRecord)) return null;
  return { key, lastEventId, pending, rows: rows as RowData[] };
}

/** The URL of the newest `limit` rows of `entity`. */
export function rowsPath(entity: string, limit: number): string {
  return `/api/rows/${encodeURIComponent(entity)}?limit=${limit}`;
}

/** True when the snapshot already shows the change of event `id`. */
export function reflects(state: Pick<CurrentRows, "lastEventId" | "pending">, id: number): boolean {
  if (id > state.lastEventId) return false;
  return !state.pending.some(([low, high]) => low <= id && id <= high);
}

/** Descending: strings by code units, then numbers by value (SQLite's order of mixed keys);
 * how the page orders rows and picks the oldest to evict. */
export function compareKeysDescending(a: RowKey, b: RowKey): number {
  if (typeof a === "number" && typeof b === "number") return b - a;
  if (typeof a === "number") return 1;
  if (typeof b === "number") return -1;
  return a < b ? 1 : a > b ? -1 : 0;
}

function keyOf(data: RowData | null | undefined, field: string): RowKey | null {
  const value = data?.[field];
  return typeof value === "number" || typeof value === "string" ? value : null;
}

/** Rows sorted newest key first, at most `cap` existing ones (the oldest keys go). */
function finish(
  keyField: string,
  cap: number,
  lastEventId: number,
  pending: CurrentRows["pending"],
  sorted: CurrentRow[],
): CurrentRows {
  let count = sorted.reduce((total, row) => total + (row.deletedAt === null ? 1 : 0), 0);
  for (let index = sorted.length - 1; count > cap && index >= 0; index -= 1) {
    if (sorted[index]?.deletedAt === null) {
      sorted.splice(index, 1);
      count -= 1;
    }
  }
  return { keyField, cap, lastEventId, pending, rows: sorted, count };
}

/** Two lists sorted newest key first, merged: O(n), no sort of the rows held (10,000 per entity). */
function merge(held: readonly CurrentRow[], added: readonly CurrentRow[]): CurrentRow[] {
  const out: CurrentRow[] = [];
  let i = 0;
  let j = 0;
  while (i < held.length || j < added.length) {
    const a = held[i];
    const b = added[j];
    if (b === undefined || (a !== undefined && compareKeysDescending(a.key, b.key) <= 0)) {
      out.push(a as CurrentRow);
      i += 1;
    } else {
      out.push(b);
      j += 1;
    }
  }
  return out;
}

/** The state of a fresh snapshot: its rows (the newest `cap` of them). */
export function fromSnapshot(snapshot: RowsSnapshot, cap: number): CurrentRows {
  const rows = new Map<RowKey, CurrentRow>(); // a Map tells 1 from "1"
  for (const data of snapshot.rows) {
    const key = keyOf(data, snapshot.key);
    if (key === null) continue;
    rows.set(key, { key, data, eventId: 0, changed: [], old: null, deletedAt: null });
  }
  const sorted = [...rows.values()].sort((a, b) => compareKeysDescending(a.key, b.key));
  return finish(snapshot.key, cap, snapshot.lastEventId, snapshot.pending, sorted);
}

/**
 * Apply the events of this entity (in arrival order) that the snapshot does not reflect.
 * An insert adds its row, an update replaces it (moving it when the key changed, whose
 * old value is in `old`), a delete strikes it through.
 *
 * With 10,000 rows held and a batch every poll, the cost is one pass over the rows
 * (a Map lookup each) plus the batch: only the keys the batch names are looked up and
 * changed, the new keys sorted among themselves and merged in.
 */
export function applyRowEvents(state: CurrentRows, events: readonly DbEvent[], nowMs: number): CurrentRows {
  const fresh = events.filter((event) => !reflects(state, event.id));
  if (fresh.length === 0) return state;
  // The keys this batch names, then their rows as held (a Map tells 1 from "1").
  const touched = new Map<RowKey, CurrentRow | undefined>();
  for (const event of fresh) {
    const key = keyOf(event.data, state.keyField);
    if (key !== null) touched.set(key, undefined);
    const oldKey = event.event_type === "update" ? keyOf(event.old, state.keyField) : null;
    if (oldKey !== null) touched.set(oldKey, undefined);
  }
  const held = new Set<RowKey>();
  for (const row of state.rows) {
    if (touched.has(row.key)) {
      touched.set(row.key, row);
      held.add(row.key);
    }
  }
  for (const event of fresh) {
    const key = keyOf(event.data, state.keyField);
    if (key === null) continue;
    if (event.event_type === "delete") {
      const row = touched.get(key);
      if (row !== undefined && row.deletedAt === null) touched.set(key, { ...row, deletedAt: nowMs, eventId: event.id });
      continue;
    }
    if (event.event_type !== "insert" && event.event_type !== "update") continue;
    const old = event.event_type === "update" ? (event.old ?? null) : null;
    const oldKey = keyOf(old, state.keyField);
    if (oldKey !== null && oldKey !== key) touched.set(oldKey, undefined);
    touched.set(key, {
      key,
      data: event.data,
      eventId: event.id,
      changed: event.event_type === "update" ? (event.changed ?? []) : [],
      old,
      deletedAt: null,
    });
  }
  // The rows held keep their order (changed in place, or gone when their key moved away);
  // the keys new to this batch are sorted, then merged in.
  const kept: CurrentRow[] = [];
  for (const row of state.rows) {
    if (!held.has(row.key)) kept.push(row);
    else {
      const current = touched.get(row.key);
      if (current !== undefined) kept.push(current);
    }
  }
  const added: CurrentRow[] = [];
  for (const [key, row] of touched) if (row !== undefined && !held.has(key)) added.push(row);
  added.sort((a, b) => compareKeysDescending(a.key, b.key));
  return finish(state.keyField, state.cap, state.lastEventId, state.pending, added.length > 0 ? merge(kept, added) : kept);
}

/** Drop the rows deleted more than DELETED_VISIBLE_MS ago. */
export function pruneDeleted(state: CurrentRows, nowMs: number): CurrentRows {
  const kept = state.rows.filter((row) => row.deletedAt === null || nowMs - row.deletedAt < DELETED_VISIBLE_MS);
  return kept.length === state.rows.length ? state : { ...state, rows: kept };
}
