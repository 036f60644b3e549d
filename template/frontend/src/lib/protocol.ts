/**
 * The client side of the backend's WebSocket protocol: the socket URL and the
 * reading of server frames. No secret ever goes into a URL: the backend
 * authenticates the socket and the HTTP requests by cookie.
 */

import type { AlertStatus, DbEvent, JsonValue, ServerMessage } from "./types";

/** `ws(s)://host/ws`, with `?after=` when resuming. */
export function socketUrl(baseUrl: string, after: number | null): string {
  const url = new URL("/ws", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", String(after));
  return url.toString();
}

/** `/api/events?before=…&limit=…`: the history older than the first hello's newest event. */
export function historyUrl(baseUrl: string, lastEventId: number, limit: number): string {
  const url = new URL("/api/events", baseUrl);
  url.searchParams.set("before", String(lastEventId + 1));
  url.searchParams.set("limit", String(limit));
  return url.toString();
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
      };
    case "events":
      if (!Array.isArray(value.events) || !isId(value.resume_after)) return null;
      return {
        type: "events",
        events: value.events.filter(isDbEvent),
        resume_after: value.resume_after,
        replay: value.replay === true,
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
