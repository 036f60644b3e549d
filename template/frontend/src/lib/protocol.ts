/**
 * The client side of the backend's WebSocket protocol: the socket URL and the
 * reading of server frames. No secret ever goes into a URL: the backend
 * authenticates the socket and the HTTP requests by cookie.
 */

import type {
  AlertStatus,
  Compression,
  DbEvent,
  EventType,
  JsonValue,
  ServerMessage,
  Subscription,
  UnsentCounts,
} from "./types";

export const EVERYTHING: Subscription = { entities: null, types: null };

/** `entities=` and `types=` of a subscription (nothing for "all"). */
function setSubscription(url: URL, subscription: Subscription): void {
  if (subscription.entities !== null) url.searchParams.set("entities", subscription.entities.join(","));
  if (subscription.types !== null) url.searchParams.set("types", subscription.types.join(","));
}

/**
 * `ws(s)://host/ws`, with `?after=` when resuming, the subscription when it is
 * not everything, and `compression=` when the client can read compressed
 * `events` messages (binary frames).
 */
export function socketUrl(
  baseUrl: string,
  after: number | null,
  subscription: Subscription = EVERYTHING,
  compression: Compression | null = null,
): string {
  const url = new URL("/ws", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", String(after));
  setSubscription(url, subscription);
  if (compression !== null) url.searchParams.set("compression", compression);
  return url.toString();
}

/**
 * `/api/events?before=…&limit=…`: the newest `limit` events up to `lastEventId`
 * (the history older than the first hello's newest event, or a backfill),
 * filtered as `subscription` filters the stream.
 */
export function historyUrl(
  baseUrl: string,
  lastEventId: number,
  limit: number,
  subscription: Subscription = EVERYTHING,
): string {
  const url = new URL("/api/events", baseUrl);
  url.searchParams.set("before", String(lastEventId + 1));
  url.searchParams.set("limit", String(limit));
  setSubscription(url, subscription);
  return url.toString();
}

/** The same subscription, whatever the order of its names. */
export function subscriptionKey(subscription: Subscription): string {
  const part = (names: readonly string[] | null) => (names === null ? "*" : [...names].sort().join(","));
  return `${part(subscription.entities)}|${part(subscription.types)}`;
}

const wants = (subscription: Subscription, entity: string, type: EventType): boolean =>
  (subscription.entities === null || subscription.entities.includes(entity)) &&
  (subscription.types === null || subscription.types.includes(type));

/**
 * What `next` gets that `previous` did not: per entity (of `entities`), the
 * event types to fetch again so the tables miss nothing they now show.
 */
export function widened(
  previous: Subscription,
  next: Subscription,
  entities: readonly { readonly name: string; readonly eventTypes: readonly EventType[] }[],
): { entity: string; types: EventType[] }[] {
  const gained: { entity: string; types: EventType[] }[] = [];
  for (const entity of entities) {
    const types = entity.eventTypes.filter((type) => wants(next, entity.name, type) && !wants(previous, entity.name, type));
    if (types.length > 0) gained.push({ entity: entity.name, types });
  }
  return gained;
}

type Fields = { readonly [key: string]: unknown };

const isRecord = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** An event with the fields the dashboard relies on; anything else is not shown. */
export function isDbEvent(value: unknown): value is DbEvent {
  return (
    isRecord(value) &&
    isId(value.id) &&
    typeof value.entity === "string" &&
    typeof value.event_type === "string" &&
    isRecord(value.data) &&
    typeof value.timestamp === "string" &&
    (value.changed === null || value.changed === undefined || Array.isArray(value.changed)) &&
    (value.old === null || value.old === undefined || isRecord(value.old))
  );
}

/**
 * One server frame, or null for a frame this client does not understand
 * (not JSON, a type of a newer protocol, missing fields): skipped, never fatal.
 */
export function parseServerMessage(frame: unknown): ServerMessage | null {
  if (typeof frame !== "string") return null;
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  switch (value.type) {
    case "starting":
      return { type: "starting", message: typeof value.message === "string" ? value.message : "starting" };
    case "hello":
      if (!isId(value.last_event_id) || !isId(value.resume_after)) return null;
      return {
        type: "hello",
        protocol: typeof value.protocol === "number" ? value.protocol : undefined,
        last_event_id: value.last_event_id,
        resume_after: value.resume_after,
        poll_interval_ms: typeof value.poll_interval_ms === "number" ? value.poll_interval_ms : 0,
        server_time: typeof value.server_time === "number" ? value.server_time : 0,
        ...(value.compression === "deflate" ? { compression: value.compression } : {}),
      };
    case "events":
      if (!Array.isArray(value.events) || !isId(value.resume_after)) return null;
      return {
        type: "events",
        events: value.events.filter(isDbEvent),
        resume_after: value.resume_after,
        replay: value.replay === true,
        unsent: parseUnsent(value.unsent),
      };
    case "heartbeat":
      if (!isId(value.resume_after)) return null;
      return {
        type: "heartbeat",
        last_event_id: isId(value.last_event_id) ? value.last_event_id : 0,
        resume_after: value.resume_after,
      };
    case "reset":
      if (value.reason !== "ahead" && value.reason !== "truncated") return null;
      return {
        type: "reset",
        reason: value.reason,
        message: typeof value.message === "string" ? value.message : value.reason,
        oldest_event_id: isId(value.oldest_event_id) ? value.oldest_event_id : null,
        last_event_id: isId(value.last_event_id) ? value.last_event_id : 0,
      };
    case "pong":
      return { type: "pong", id: value.id };
    case "error":
      return { type: "error", message: typeof value.message === "string" ? value.message : "" };
    case "alert": {
      const alert = parseAlertStatus(value.alert);
      return alert === null ? null : { type: "alert", alert };
    }
    default:
      return null;
  }
}

/** An alert rule's state (an `alert` message's `alert`, an item of `GET /api/alerts`), or null when malformed. */
export function parseAlertStatus(value: unknown): AlertStatus | null {
  if (!isRecord(value) || typeof value.name !== "string" || typeof value.since !== "string") return null;
  if (value.state !== "ok" && value.state !== "firing") return null;
  return {
    name: value.name,
    state: value.state,
    since: value.since,
    value: (value.value ?? null) as JsonValue,
    entity: typeof value.entity === "string" ? value.entity : null,
    kind: typeof value.kind === "string" ? value.kind : "",
    when: typeof value.when === "string" ? value.when : "",
  };
}

const EVENT_TYPES: readonly EventType[] = ["insert", "update", "delete"];

/** An `events` message's `unsent` counts; malformed entries are left out (counts are advisory). */
export function parseUnsent(value: unknown): UnsentCounts | undefined {
  if (!isRecord(value)) return undefined;
  const counts = Object.create(null) as Record<string, Partial<Record<EventType, number>>>;
  for (const [entity, byType] of Object.entries(value)) {
    if (!isRecord(byType)) continue;
    const kept: Partial<Record<EventType, number>> = {};
    for (const type of EVENT_TYPES) {
      const count = byType[type];
      if (isId(count) && count > 0) kept[type] = count;
    }
    if (Object.keys(kept).length > 0) counts[entity] = kept;
  }
  return Object.keys(counts).length > 0 ? counts : undefined;
}
