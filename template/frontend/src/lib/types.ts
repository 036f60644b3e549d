/** The shapes shared by the generated entity model, the backend protocol and the UI. */

export type ColumnType = "string" | "integer" | "float" | "boolean" | "date" | "datetime" | "json";
export type EventType = "insert" | "update" | "delete";
export type EntityKind = "root" | "derived" | "reference";

export interface ColumnConfig {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly primaryKey: boolean;
  readonly length: number | null;
  readonly doc: string;
}

export interface EntityConfig {
  readonly name: string;
  readonly table: string;
  readonly kind: EntityKind;
  readonly idColumn: string;
  readonly color: string;
  readonly icon: string;
  readonly doc: string;
  readonly columns: readonly ColumnConfig[];
  readonly displayFields: readonly string[];
  readonly maxRecords: number;
  readonly eventTypes: readonly EventType[];
}

export interface Features {
  readonly statistics: boolean;
  readonly filters: boolean;
  readonly search: boolean;
  readonly pause: boolean;
  readonly autoScroll: boolean;
  readonly exportCsv: boolean;
  readonly darkMode: boolean;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One change, as the backend streams it. */
export interface DbEvent {
  readonly id: number;
  readonly entity: string;
  readonly event_type: EventType | "unknown";
  readonly data: Readonly<Record<string, JsonValue>>;
  /** Update: the fields it changed (the key included when it changed). */
  readonly changed: readonly string[] | null;
  /** Update: the old values of the `changed` fields, by field name; null for inserts and deletes
   * (absent from servers before old values were captured). */
  readonly old?: Readonly<Record<string, JsonValue>> | null;
  readonly timestamp: string;
}

/**
 * What a client asks the server to send (`/ws?entities=…&types=…`): null is
 * everything, an empty list nothing. The rest is only counted (`unsent`).
 */
export interface Subscription {
  readonly entities: readonly string[] | null;
  readonly types: readonly EventType[] | null;
}

/** Entity -> event type -> events not sent. */
export type UnsentCounts = Readonly<Record<string, Readonly<Partial<Record<EventType, number>>>>>;

/** Where a batch of events comes from: the live stream (counted) or history loaded at start (shown only). */
export type BatchSource = "live" | "history";

/**
 * What `/ws?compression=` asks for: `events` messages may then arrive as binary
 * frames holding the zlib stream (RFC 1950) of the JSON text.
 */
export type Compression = "deflate";

export type ServerMessage =
  /** Sent instead of `hello` (and repeated) until the server knows the database's newest event. */
  | { type: "starting"; message: string }
  | {
      type: "hello";
      /** Absent from servers older than protocol 1. */
      protocol?: number;
      last_event_id: number;
      resume_after: number;
      poll_interval_ms: number;
      server_time: number;
      /** What a subscribed client gets (absent: everything). */
      subscription?: Subscription;
      /** The compression asked for with `?compression=`, which `events` messages may then use (absent: none). */
      compression?: Compression;
    }
  | {
      type: "events";
      events: DbEvent[];
      resume_after: number;
      replay?: boolean;
      /** A subscribed client's batch: how many events its subscription left out, by entity and type. */
      unsent?: UnsentCounts;
    }
  | { type: "heartbeat"; last_event_id: number; resume_after: number }
  | {
      type: "reset";
      reason: "truncated" | "ahead";
      message: string;
      oldest_event_id?: number | null;
      last_event_id: number;
    }
  | { type: "pong"; id?: unknown }
  | { type: "error"; message: string }
  /** An alert rule of dashboard.yaml changed state (servers without alert rules never send it). */
  | { type: "alert"; alert: AlertStatus };

export type AlertState = "ok" | "firing";

/** One alert rule's state, as `GET /api/alerts` lists it and `alert` messages carry it. */
export interface AlertStatus {
  readonly name: string;
  readonly state: AlertState;
  /** ISO 8601: when the rule entered this state. */
  readonly since: string;
  /** What decided it: the count in the window, the seconds of silence, or the row's field value. */
  readonly value: JsonValue;
  readonly entity: string | null;
  readonly kind: string;
  /** The condition as written in dashboard.yaml. */
  readonly when: string;
}

export type ConnectionStatus =
  | { state: "connecting" }
  /** Connected, but the server is still waiting for the database: what is shown stays. */
  | { state: "starting"; message: string }
  | { state: "live" }
  /** `reason`: what the server said when it closed the connection (e.g. "server full: …"), if it said anything. */
  | { state: "reconnecting"; attempt: number; retryAt: number; reason?: string }
  | { state: "offline" };
