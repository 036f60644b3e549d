/** The dashboard's data: per-entity ring buffers, the unified stream, counters and rates. */

import type { BatchSource, DbEvent, EntityConfig, EventType, UnsentCounts } from "./types";

export const STREAM_CAP = 1000;
export const RATE_WINDOW_S = 60;

export interface EntityCounts {
  insert: number;
  update: number;
  delete: number;
}

export interface DashboardData {
  /** Newest first, at most `maxRecords` per entity. */
  readonly byEntity: Readonly<Record<string, readonly DbEvent[]>>;
  /** Every entity, newest first, at most STREAM_CAP. */
  readonly stream: readonly DbEvent[];
  readonly counts: Readonly<Record<string, EntityCounts>>;
  /** Events per second for the last RATE_WINDOW_S seconds, oldest first, per entity. */
  readonly perSecond: Readonly<Record<string, readonly number[]>>;
  readonly rateSecond: number;
  readonly lastEventAt: number | null;
  readonly received: number;
}

/**
 * A record keyed by entity name. No prototype: an entity may be called `__proto__`,
 * `constructor` or `toString`, and on a plain object those keys would set or read
 * Object.prototype instead of the entity's data.
 */
function byName<T>(entries: Readonly<Record<string, T>> = {}): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

export function emptyData(entities: readonly EntityConfig[], nowMs = Date.now()): DashboardData {
  const byEntity = byName<DbEvent[]>();
  const counts = byName<EntityCounts>();
  const perSecond = byName<number[]>();
  for (const entity of entities) {
    byEntity[entity.name] = [];
    counts[entity.name] = { insert: 0, update: 0, delete: 0 };
    perSecond[entity.name] = new Array<number>(RATE_WINDOW_S).fill(0);
  }
  return { byEntity, stream: [], counts, perSecond, rateSecond: Math.floor(nowMs / 1000), lastEventAt: null, received: 0 };
}

/** Move the per-second windows forward to `second`, dropping what fell out. */
function advanceRates(data: DashboardData, second: number): Record<string, number[]> {
  const shift = second - data.rateSecond;
  const next = byName<number[]>();
  for (const [name, window] of Object.entries(data.perSecond)) {
    if (shift <= 0) next[name] = [...window];
    else if (shift >= RATE_WINDOW_S) next[name] = new Array<number>(RATE_WINDOW_S).fill(0);
    else next[name] = [...window.slice(shift), ...new Array<number>(shift).fill(0)];
  }
  return next;
}

export function tick(data: DashboardData, nowMs: number): DashboardData {
  const second = Math.floor(nowMs / 1000);
  if (second === data.rateSecond) return data;
  return { ...data, perSecond: advanceRates(data, second), rateSecond: second };
}

/**
 * Apply a batch (already de-duplicated) in arrival order. History loaded at
 * startup is shown below what the live stream already brought (it is older),
 * and not counted as this session's changes.
 */
export function applyEvents(
  data: DashboardData,
  events: readonly DbEvent[],
  entities: readonly EntityConfig[],
  nowMs: number,
  source: BatchSource = "live",
): DashboardData {
  const counted = source === "live";
  if (events.length === 0) return tick(data, nowMs);
  const second = Math.floor(nowMs / 1000);
  const perSecond = advanceRates(data, second);
  const caps = new Map(entities.map((entity) => [entity.name, entity.maxRecords]));
  const fresh = new Map<string, DbEvent[]>();
  const counts = byName(data.counts);
  for (const event of events) {
    const cap = caps.get(event.entity);
    if (cap === undefined) continue; // an entity this build does not know
    let list = fresh.get(event.entity);
    if (list === undefined) {
      list = [];
      fresh.set(event.entity, list);
    }
    list.push(event);
    if (counted && event.event_type !== "unknown") {
      const previous = counts[event.entity] ?? { insert: 0, update: 0, delete: 0 };
      counts[event.entity] = { ...previous, [event.event_type as EventType]: previous[event.event_type as EventType] + 1 };
      const window = perSecond[event.entity];
      if (window) window[RATE_WINDOW_S - 1] = (window[RATE_WINDOW_S - 1] ?? 0) + 1;
    }
  }
  const byEntity = byName<readonly DbEvent[]>(data.byEntity);
  for (const [name, list] of fresh) {
    const cap = caps.get(name) ?? 0;
    byEntity[name] = newestFirst(list.reverse(), data.byEntity[name] ?? [], source, cap);
  }
  const known = events.filter((event) => caps.has(event.entity));
  const stream = newestFirst([...known].reverse(), data.stream, source, STREAM_CAP);
  return {
    byEntity,
    stream,
    counts,
    perSecond,
    rateSecond: second,
    lastEventAt: counted ? nowMs : data.lastEventAt,
    received: data.received + (counted ? known.length : 0),
  };
}

/**
 * Live events go on top (arrival order). History goes by id among what is shown:
 * at startup that is below the live rows (it is older), and a backfill after
 * the page widened its subscription lands between the rows it missed.
 */
function newestFirst(batch: readonly DbEvent[], shown: readonly DbEvent[], source: BatchSource, cap: number): DbEvent[] {
  if (source === "live") {
    // One array of at most `cap`, filled once: with 10,000 events held per entity, copying
    // the buffer twice per batch (spread, then slice) was most of the page's garbage.
    const size = Math.min(cap, batch.length + shown.length);
    const merged = new Array<DbEvent>(size);
    for (let index = 0; index < size; index += 1) {
      merged[index] = (index < batch.length ? batch[index] : shown[index - batch.length]) as DbEvent;
    }
    return merged;
  }
  const older = [...batch].sort((a, b) => b.id - a.id);
  const merged: DbEvent[] = [];
  let index = 0;
  for (const event of shown) {
    for (let next = older[index]; next !== undefined && next.id > event.id; next = older[index]) {
      merged.push(next);
      index += 1;
    }
    merged.push(event);
  }
  return (index < older.length ? merged.concat(older.slice(index)) : merged).slice(0, cap);
}

/**
 * Count the events a subscription left out (`unsent`) as if they had arrived:
 * the statistics (counts, rates, last event) stay those of every event, whatever the page shows.
 */
export function applyUnsent(data: DashboardData, unsent: UnsentCounts, nowMs: number): DashboardData {
  const second = Math.floor(nowMs / 1000);
  const perSecond = advanceRates(data, second);
  const counts = byName(data.counts);
  let total = 0;
  for (const [entity, byType] of Object.entries(unsent)) {
    const previous = counts[entity];
    const window = perSecond[entity];
    if (previous === undefined || window === undefined) continue; // an entity this build does not know
    const next = { ...previous };
    for (const type of ["insert", "update", "delete"] as const) {
      const count = byType[type] ?? 0;
      next[type] += count;
      window[RATE_WINDOW_S - 1] = (window[RATE_WINDOW_S - 1] ?? 0) + count;
      total += count;
    }
    counts[entity] = next;
  }
  if (total === 0) return tick(data, nowMs);
  return { ...data, counts, perSecond, rateSecond: second, lastEventAt: nowMs };
}

export function eventsPerSecond(data: DashboardData, seconds = 10): number {
  let total = 0;
  for (const window of Object.values(data.perSecond)) {
    // The current second is still filling: use the `seconds` complete ones before it.
    for (const count of window.slice(RATE_WINDOW_S - 1 - seconds, RATE_WINDOW_S - 1)) total += count;
  }
  return total / seconds;
}
