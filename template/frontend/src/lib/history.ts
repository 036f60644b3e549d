/**
 * The client of the backend's history endpoints (docs/design.md, "History API"):
 * pages of events over a time range with keyset cursors, the histogram, and
 * what is kept. URLs and answers are read here; state lives in hooks/useHistory.
 */

import type { Api } from "./api";
import { isDbEvent } from "./protocol";
import type { Retention, TimeRange } from "./timeRange";
import type { DbEvent, EventType } from "./types";

export const HISTORY_INFO_PATH = "/api/history";
export const EVENTS_PATH = "/api/events";
export const HISTOGRAM_PATH = "/api/events/histogram";
/** The most a page may hold (the server's limit). */
export const MAX_PAGE = 5000;

/** The filters applied by the server: null means all. */
export interface HistoryFilter {
  readonly entities: readonly string[] | null;
  readonly eventTypes: readonly EventType[] | null;
  /** Text the payload must contain ("" for none). */
  readonly q: string;
}

export interface HistoryPage {
  /** In the page's order: newest first for `desc`, oldest first for `asc`. */
  readonly events: readonly DbEvent[];
  readonly order: "asc" | "desc";
  /** Cursors to the events before this page's oldest and after its newest; null: none that way. */
  readonly older: string | null;
  readonly newer: string | null;
}

export interface HistogramBucket {
  /** The bucket's start, epoch ms. */
  readonly start: number;
  readonly counts: Readonly<Record<string, number>>;
}

export interface Histogram {
  readonly bucketSeconds: number;
  /** Only buckets with events, oldest first. */
  readonly buckets: readonly HistogramBucket[];
  readonly total: number;
}

export interface HistoryInfo extends Retention {
  /** The database's now when it answered (its clock writes the timestamps). */
  readonly databaseTime: number;
}

/** An answer the page cannot use; the message is the server's `detail` when it gave one. */
export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryError";
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

function filterParams(range: TimeRange, filter: HistoryFilter): URLSearchParams {
  const params = new URLSearchParams({ since: iso(range.since), until: iso(range.until) });
  if (filter.entities !== null) params.set("entities", filter.entities.join(","));
  if (filter.eventTypes !== null) params.set("types", filter.eventTypes.join(","));
  return params;
}

export interface PageRequest {
  readonly limit: number;
  /** The first page: the newest (`desc`) or the oldest (`asc`) events of the range. */
  readonly order?: "asc" | "desc";
  /** A cursor of a previous page (it carries its direction). */
  readonly cursor?: string | null;
}

export function eventsPath(range: TimeRange, filter: HistoryFilter, request: PageRequest): string {
  const params = filterParams(range, filter);
  if (filter.q !== "") params.set("q", filter.q);
  params.set("limit", String(Math.min(Math.max(1, request.limit), MAX_PAGE)));
  if (request.cursor) params.set("cursor", request.cursor);
  else params.set("order", request.order ?? "desc");
  return `${EVENTS_PATH}?${params.toString()}`;
}

export function histogramPath(range: TimeRange, filter: HistoryFilter): string {
  return `${HISTOGRAM_PATH}?${filterParams(range, filter).toString()}`;
}

type Fields = { readonly [key: string]: unknown };
const isRecord = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value);
const cursorOf = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);

function moment(value: unknown, what: string): number {
  const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new HistoryError(`${what} is not a date`);
  return ms;
}

export function parseEventsPage(body: unknown): HistoryPage {
  if (!isRecord(body) || !Array.isArray(body.events)) throw new HistoryError("the events answer has no events");
  return {
    events: body.events.filter(isDbEvent),
    order: body.order === "asc" ? "asc" : "desc",
    older: cursorOf(body.older),
    newer: cursorOf(body.newer),
  };
}

export function parseHistogram(body: unknown): Histogram {
  if (!isRecord(body) || !Array.isArray(body.buckets) || typeof body.bucket_seconds !== "number") {
    throw new HistoryError("the histogram answer has no buckets");
  }
  const buckets: HistogramBucket[] = [];
  for (const item of body.buckets) {
    if (!isRecord(item) || !isRecord(item.counts)) continue;
    const counts: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [name, count] of Object.entries(item.counts)) if (typeof count === "number") counts[name] = count;
    buckets.push({ start: moment(item.start, "a bucket start"), counts });
  }
  const total = typeof body.total === "number" ? body.total : 0;
  return { bucketSeconds: body.bucket_seconds, buckets, total };
}

function keptMoment(value: unknown): number | null {
  return isRecord(value) ? moment(value.timestamp, "a kept event's timestamp") : null;
}

export function parseHistoryInfo(body: unknown): HistoryInfo {
  if (!isRecord(body)) throw new HistoryError("the history answer is not an object");
  return {
    retentionDays: typeof body.retention_days === "number" && body.retention_days > 0 ? body.retention_days : null,
    oldest: keptMoment(body.oldest),
    newest: keptMoment(body.newest),
    databaseTime: moment(body.database_time, "database_time"),
  };
}

/** GET a JSON answer; a refusal throws the server's one-line `detail`. */
async function getJson(api: Api, path: string, signal?: AbortSignal): Promise<unknown> {
  const response = await api.fetch(path, { headers: { Accept: "application/json" }, signal });
  const body = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) {
    const detail = isRecord(body) ? body.detail : null;
    throw new HistoryError(typeof detail === "string" ? detail : `${path.split("?")[0]} answered HTTP ${response.status}`);
  }
  return body;
}

export const fetchHistoryInfo = async (api: Api, signal?: AbortSignal): Promise<HistoryInfo> =>
  parseHistoryInfo(await getJson(api, HISTORY_INFO_PATH, signal));

export const fetchPage = async (
  api: Api,
  range: TimeRange,
  filter: HistoryFilter,
  request: PageRequest,
  signal?: AbortSignal,
): Promise<HistoryPage> => parseEventsPage(await getJson(api, eventsPath(range, filter, request), signal));

export const fetchHistogram = async (
  api: Api,
  range: TimeRange,
  filter: HistoryFilter,
  signal?: AbortSignal,
): Promise<Histogram> => parseHistogram(await getJson(api, histogramPath(range, filter), signal));

export interface RangeExport {
  /** Newest first. */
  readonly events: readonly DbEvent[];
  /** True when the range holds more than `max` events: the newest `max` were taken. */
  readonly truncated: boolean;
}

/**
 * Every event of the range (newest first), page by page, up to `max`: memory
 * stays bounded on a range of millions of events, and the caller says so.
 */
export async function fetchRange(
  api: Api,
  range: TimeRange,
  filter: HistoryFilter,
  max: number,
  signal?: AbortSignal,
): Promise<RangeExport> {
  const events: DbEvent[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: HistoryPage = await fetchPage(api, range, filter, { limit: MAX_PAGE, order: "desc", cursor }, signal);
    events.push(...page.events.slice(0, max - events.length));
    if (page.older === null || page.events.length === 0) return { events, truncated: false };
    if (events.length >= max) return { events, truncated: true };
    cursor = page.older;
  }
}
