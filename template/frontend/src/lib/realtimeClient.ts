/**
 * The live data of the dashboard, without React: one WebSocket to the backend,
 * with reconnect (exponential backoff and jitter) and resume from the last safe
 * point (`?after=`), so nothing is lost across reconnects and backend restarts.
 *
 * Events are de-duplicated by id (a backend killed and restarted may send again
 * what this client already has), queued, and applied together about a frame
 * later (not per message). A timer, not requestAnimationFrame: asking for a
 * frame makes the browser run one (style, layout, paint) even when the batch
 * changes nothing drawn, and the heavy views draw at their own pace
 * (hooks/usePaced.ts). Memory is bounded: the store keeps `maxRecords` per entity, the
 * queue is applied early when it grows (a hidden tab's timers are slowed down),
 * and while paused at most `maxPending` events are held; past that the
 * client stops holding them and, on resume, asks the server for them again.
 *
 * Subscriptions: the page asks only for the entities and event types it shows
 * (`setSubscription`); the server counts the others (`unsent`) so statistics
 * stay whole. A change reconnects with `?after=` the resume point R and the new
 * subscription, so the replay brings everything after R that the new one wants;
 * what it gained up to R is fetched from /api/events (the newest `maxRecords`
 * per entity): no table misses a row it would have shown.
 *
 * Compression: where the browser can inflate (DecompressionStream), the client
 * asks for `compression=deflate`, and `events` messages may come as binary
 * frames; they are read in arrival order with the text frames (lib/frames.ts).
 */

import { backoffDelay } from "./backoff";
import { browserDecompress, type Decompress, FrameReader } from "./frames";
import { IdWindow } from "./ids";
import {
  EVERYTHING,
  historyUrl,
  isDbEvent,
  parseServerMessage,
  socketUrl,
  subscriptionKey,
  widened,
} from "./protocol";
import { applyEvents, applyUnsent, type DashboardData, emptyData, tick } from "./store";
import type {
  AlertStatus,
  BatchSource,
  ConnectionStatus,
  DbEvent,
  EntityConfig,
  EventType,
  ServerMessage,
  Subscription,
  UnsentCounts,
} from "./types";

export interface RealtimeSnapshot {
  readonly status: ConnectionStatus;
  readonly data: DashboardData;
  readonly paused: boolean;
  /** Live events received while paused: applied (or fetched again) on resume. */
  readonly pending: number;
}

/** Whether the browser thinks it is online, and a way to hear when that changes. */
export interface Connectivity {
  readonly online: () => boolean;
  /** Calls `onChange` on every change; returns the unsubscribe function. */
  readonly watch: (onChange: (online: boolean) => void) => () => void;
}

export interface RealtimeClientOptions {
  readonly entities: readonly EntityConfig[];
  /** Origin of the backend, e.g. "http://127.0.0.1:8000". */
  readonly baseUrl: string;
  /** Events loaded from /api/events when the first hello arrives; 0 loads none. */
  readonly historyLimit?: number;
  /** Events held while paused before the client stops holding them (and refetches on resume). */
  readonly maxPending?: number;
  /**
   * Sent as `Authorization: Bearer` on HTTP requests, never in a URL. The
   * WebSocket cannot carry headers: it is authenticated by the login cookie.
   */
  readonly token?: string | null;
  readonly random?: () => number;
  /** Opens the socket; the browser's WebSocket unless a test runs outside a browser. */
  readonly openSocket?: (url: string) => WebSocket;
  readonly fetch?: typeof fetch;
  /** Runs `callback` once the messages of about a frame are in (a 16 ms timer by default). */
  readonly scheduleFrame?: (callback: () => void) => void;
  /** The browser's online/offline state; null outside a browser. */
  readonly connectivity?: Connectivity | null;
  /** What to ask the server for at first; everything by default (see `setSubscription`). */
  readonly subscription?: Subscription;
  /**
   * Inflates compressed `events` messages (binary frames): the browser's
   * DecompressionStream by default. Null, or a browser without it: the client
   * does not ask for compression and gets text frames only.
   */
  readonly decompress?: Decompress | null;
}

/** Hears every event the store is given (each id once), and resets. */
export interface EventWatcher {
  /** A batch as it is applied: live events and history, de-duplicated, in arrival order. */
  readonly events: (events: readonly DbEvent[]) => void;
  /** Everything held was dropped (the server's history no longer reaches it): start over. */
  readonly reset: () => void;
}

export const DEFAULT_MAX_PENDING = 10_000;
/** Queued events past which they are applied without waiting for the timer. */
export const MAX_QUEUED = 5_000;
const OPEN = 1; // WebSocket.OPEN and .CLOSING, without needing the global outside a browser
const CLOSING = 2;
const CLOCK_MS = 1000; // rates and "last event" age move on when idle

type Batch = { readonly events: readonly DbEvent[]; readonly source: BatchSource; readonly unsent?: UnsentCounts };

/** `more` added into `total` (both entity -> type -> count); a new object, bounded by entities x types. */
function addUnsent(total: UnsentCounts | undefined, more: UnsentCounts): UnsentCounts {
  const sum = Object.assign(Object.create(null) as Record<string, Partial<Record<EventType, number>>>, total);
  for (const [entity, byType] of Object.entries(more)) {
    const into = { ...sum[entity] };
    for (const type of ["insert", "update", "delete"] as const) {
      const count = byType[type];
      if (count !== undefined) into[type] = (into[type] ?? 0) + count;
    }
    sum[entity] = into;
  }
  return sum;
}

const FLUSH_MS = 16;
const defaultScheduleFrame = (callback: () => void): void => {
  setTimeout(callback, FLUSH_MS);
};

const defaultOpenSocket = (url: string): WebSocket => new WebSocket(url);

/** navigator.onLine and the window's online/offline events, when there is a window. */
export function browserConnectivity(): Connectivity | null {
  if (typeof window === "undefined" || typeof window.addEventListener !== "function") return null;
  return {
    online: () => typeof navigator === "undefined" || navigator.onLine !== false,
    watch: (onChange) => {
      const online = () => onChange(true);
      const offline = () => onChange(false);
      window.addEventListener("online", online);
      window.addEventListener("offline", offline);
      return () => {
        window.removeEventListener("online", online);
        window.removeEventListener("offline", offline);
      };
    },
  };
}

export class RealtimeClient {
  private readonly entities: readonly EntityConfig[];
  private readonly baseUrl: string;
  private readonly historyLimit: number;
  private readonly maxPending: number;
  private readonly token: string | null;
  private readonly random: () => number;
  private readonly openSocket: (url: string) => WebSocket;
  private readonly fetch: typeof fetch;
  private readonly scheduleFrame: (callback: () => void) => void;
  private readonly connectivity: Connectivity | null;
  private readonly decompress: Decompress | null;

  private snapshot: RealtimeSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly watchers = new Set<EventWatcher>();
  private readonly alertListeners = new Set<(alert: AlertStatus) => void>();

  /** The id below which nothing is outstanding: where a reconnect resumes. Null before the first hello. */
  private resumeAfter: number | null = null;
  private readonly seen = new IdWindow();
  private queue: Batch[] = [];
  private queued = 0;
  private held: DbEvent[] = [];
  /** While paused: the `unsent` counts of the messages held, added up. */
  private heldUnsent: UnsentCounts | undefined = undefined;
  private subscription: Subscription;
  /**
   * Set when the pause buffer was full: the resume point of the last event
   * held. Newer live events are only counted, and fetched again on resume.
   */
  private overflowAfter: number | null = null;
  private skipped = 0;

  private socket: WebSocket | null = null;
  private running = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private clock: ReturnType<typeof setInterval> | undefined;
  private frameScheduled = false;
  private unwatch: (() => void) | null = null;
  /** Bumped by a reset: history requested before it is dropped. */
  private generation = 0;

  constructor(options: RealtimeClientOptions) {
    this.entities = options.entities;
    this.baseUrl = options.baseUrl;
    this.historyLimit = options.historyLimit ?? 500;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.token = options.token ?? null;
    this.random = options.random ?? Math.random;
    this.openSocket = options.openSocket ?? defaultOpenSocket;
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.scheduleFrame = options.scheduleFrame ?? defaultScheduleFrame;
    this.connectivity = options.connectivity === undefined ? browserConnectivity() : options.connectivity;
    this.subscription = options.subscription ?? EVERYTHING;
    this.decompress = options.decompress === undefined ? browserDecompress() : options.decompress;
    this.snapshot = { status: { state: "connecting" }, data: emptyData(this.entities), paused: false, pending: 0 };
  }

  // Arrow properties: these are handed around unbound (React's useSyncExternalStore, onClick).
  readonly getSnapshot = (): RealtimeSnapshot => this.snapshot;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Views that keep their own state from the events (current rows); returns the unsubscribe function. */
  readonly watchEvents = (watcher: EventWatcher): (() => void) => {
    this.watchers.add(watcher);
    return () => {
      this.watchers.delete(watcher);
    };
  };

  /** Connects; calling it again after `stop` reconnects from where the client was. */
  readonly start = (): void => {
    if (this.running) return;
    this.running = true;
    this.unwatch = this.connectivity?.watch((online) => (online ? this.goOnline() : this.goOffline())) ?? null;
    this.clock = setInterval(() => this.scheduleFlush(), CLOCK_MS);
    this.connect();
  };

  readonly stop = (): void => {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.clock);
    this.unwatch?.();
    this.unwatch = null;
    this.closeSocket();
  };

  /**
   * Ask for these entities and event types only (the page's filter). Narrowing
   * or widening reconnects from the resume point; widening also fetches, per
   * entity, the newest `maxRecords` events up to that point of what it gained.
   */
  readonly setSubscription = (next: Subscription): void => {
    if (subscriptionKey(next) === subscriptionKey(this.subscription)) return;
    const previous = this.subscription;
    this.subscription = next;
    const after = this.overflowAfter ?? this.resumeAfter;
    if (after !== null) {
      const gained = widened(previous, next, this.entities);
      if (gained.length > 0) void this.backfill(gained, after);
    }
    if (!this.running) return; // start() connects with it
    clearTimeout(this.retryTimer);
    this.closeSocket();
    this.connect();
  };

  /** The subscription asked for. */
  get currentSubscription(): Subscription {
    return this.subscription;
  }

  readonly pause = (): void => {
    if (this.snapshot.paused) return;
    this.publish({ paused: true });
  };

  readonly resume = (): void => {
    if (!this.snapshot.paused) return;
    if (this.held.length > 0 || this.heldUnsent !== undefined) this.enqueue(this.held, "live", this.heldUnsent);
    this.held = [];
    this.heldUnsent = undefined;
    const refetchAfter = this.overflowAfter;
    this.overflowAfter = null;
    this.skipped = 0;
    this.publish({ paused: false, pending: 0 });
    if (refetchAfter !== null) {
      // What was not held is still on the server: resume from the last event held.
      this.resumeAfter = refetchAfter;
      this.reconnectNow();
    }
  };

  private publish(change: Partial<RealtimeSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of [...this.listeners]) listener();
  }

  private setStatus(status: ConnectionStatus): void {
    this.publish({ status });
  }

  private connect(): void {
    if (!this.running) return;
    if (this.connectivity !== null && !this.connectivity.online()) {
      this.setStatus({ state: "offline" });
      return;
    }
    // A replay from the overflow point repeats every event counted since: count afresh.
    if (this.overflowAfter !== null) this.skipped = 0;
    const compression = this.decompress === null ? null : "deflate";
    const after = this.overflowAfter ?? this.resumeAfter;
    const current = this.openSocket(socketUrl(this.baseUrl, after, this.subscription, compression));
    current.binaryType = "arraybuffer";
    this.socket = current;
    const frames = new FrameReader(
      this.decompress,
      (frame) => {
        // Frames inflated after the socket was replaced, or after the page closed it (a reset), are
        // dropped, as a browser drops the messages of a closing socket: the next connection resumes
        // before them, or starts over without a resume point that such a frame would have set.
        if (this.socket !== current || current.readyState !== OPEN) return;
        const message = parseServerMessage(frame);
        if (message !== null) this.handle(message);
      },
      () => {
        // A binary frame is an `events` message: skipping it would lose its
        // events without a trace, and the frames behind it would move the
        // resume point past them. Closing reconnects (its close event, with
        // backoff) from the resume point before it, and the replay brings them.
        if (this.socket === current) current.close();
      },
    );
    current.onmessage = (event: MessageEvent<unknown>) => {
      if (this.socket !== current) return;
      frames.take(event.data);
    };
    current.onerror = () => {
      // A close event follows: the reconnect is scheduled there.
    };
    current.onclose = (event: CloseEvent) => {
      if (!this.running || this.socket !== current) return;
      this.socket = null;
      const delay = backoffDelay(this.attempt, this.random);
      this.attempt += 1;
      // The server says why it closed (1013 "server full", "too slow", ...): the part before the advice.
      const reason = (event.reason ?? "").split(";")[0]?.trim();
      this.setStatus({
        state: "reconnecting",
        attempt: this.attempt,
        retryAt: Date.now() + delay,
        ...(reason ? { reason } : {}),
      });
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  /** Detached first, so its close event schedules nothing. */
  private closeSocket(): void {
    const current = this.socket;
    this.socket = null;
    if (current === null) return;
    current.onmessage = null;
    current.onclose = null;
    // Closing a socket still connecting reports an error: expected, and not to be thrown.
    current.onerror = () => {};
    current.close();
  }

  private reconnectNow(): void {
    clearTimeout(this.retryTimer);
    this.closeSocket();
    this.attempt = 0;
    this.setStatus({ state: "connecting" });
    this.connect();
  }

  private goOffline(): void {
    clearTimeout(this.retryTimer);
    this.setStatus({ state: "offline" });
  }

  private goOnline(): void {
    clearTimeout(this.retryTimer);
    if (this.socket === null || this.socket.readyState >= CLOSING) this.connect();
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case "starting":
        // The server cannot say yet where the database is: keep everything
        // shown and the resume point; the hello follows on this socket.
        this.attempt = 0;
        this.setStatus({ state: "starting", message: message.message });
        break;
      case "hello":
        this.attempt = 0;
        this.setStatus({ state: "live" });
        if (this.resumeAfter === null) {
          this.resumeAfter = message.resume_after;
          void this.loadHistory(message.last_event_id);
        }
        break;
      case "events":
        this.receive(message.events, "live", message.unsent);
        this.resumeAfter = message.resume_after;
        break;
      case "heartbeat":
        this.resumeAfter = message.resume_after;
        break;
      case "reset":
        // What we hold may be gone from the server: start over from its current state.
        this.clearAll();
        this.socket?.close(); // its close event schedules the reconnect, with backoff
        break;
      case "alert":
        for (const listener of this.alertListeners) listener(message.alert);
        break;
      case "pong":
      case "error":
        break;
    }
  }

  /** Calls `listener` with every alert state change the server sends; returns the unsubscribe function. */
  readonly onAlert = (listener: (alert: AlertStatus) => void): (() => void) => {
    this.alertListeners.add(listener);
    return () => {
      this.alertListeners.delete(listener);
    };
  };

  private async loadHistory(lastEventId: number): Promise<void> {
    if (lastEventId <= 0 || this.historyLimit <= 0) return;
    const generation = this.generation;
    try {
      await this.loadEvents(historyUrl(this.baseUrl, lastEventId, this.historyLimit, this.subscription), generation);
    } catch {
      // History is a convenience: the live stream goes on without it.
    }
  }

  /** What a widened subscription gained, up to `after` (the replay brings what follows). */
  private async backfill(gained: readonly { entity: string; types: EventType[] }[], after: number): Promise<void> {
    if (after <= 0) return;
    const generation = this.generation;
    const limits = new Map(this.entities.map((entity) => [entity.name, entity.maxRecords]));
    await Promise.all(
      gained.map(async ({ entity, types }) => {
        const url = historyUrl(this.baseUrl, after, limits.get(entity) ?? 1, { entities: [entity], types });
        try {
          await this.loadEvents(url, generation);
        } catch {
          // As history: the table fills again with the live stream; a reload fetches it again.
        }
      }),
    );
  }

  private async loadEvents(url: string, generation: number): Promise<void> {
    const response = await this.fetch(url, {
      headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const body = (await response.json()) as { events?: unknown };
    if (generation !== this.generation || !Array.isArray(body.events)) return;
    this.receive(body.events.filter(isDbEvent), "history");
  }

  private receive(events: readonly DbEvent[], source: BatchSource, unsent?: UnsentCounts): void {
    if (source === "live" && this.snapshot.paused) {
      this.hold(events, unsent);
      return;
    }
    const fresh = events.filter((event) => this.seen.add(event.id));
    if (fresh.length > 0 || unsent !== undefined) this.enqueue(fresh, source, unsent);
  }

  /** While paused: keep live events (and what was not sent, counted) for the resume, up to `maxPending`. */
  private hold(events: readonly DbEvent[], unsent: UnsentCounts | undefined): void {
    const fresh = events.filter((event) => !this.seen.has(event.id));
    if (fresh.length === 0 && unsent === undefined) return;
    if (this.overflowAfter === null && this.held.length + fresh.length > this.maxPending) {
      // Everything up to the resume point before this message is held or shown.
      this.overflowAfter = this.resumeAfter ?? 0;
    }
    if (this.overflowAfter !== null) {
      // Not marked as seen: the replay on resume must bring them.
      this.skipped += fresh.length;
    } else {
      for (const event of fresh) this.seen.add(event.id);
      this.held.push(...fresh);
      if (unsent !== undefined) this.heldUnsent = addUnsent(this.heldUnsent, unsent);
    }
    this.scheduleFlush();
  }

  private enqueue(events: readonly DbEvent[], source: BatchSource, unsent?: UnsentCounts): void {
    this.queue.push({ events, source, unsent });
    this.queued += events.length;
    if (this.queued > MAX_QUEUED) this.flush();
    else this.scheduleFlush();
  }

  private clearAll(): void {
    this.generation += 1;
    this.resumeAfter = null;
    this.seen.clear();
    this.queue = [];
    this.queued = 0;
    this.held = [];
    this.heldUnsent = undefined;
    this.overflowAfter = null;
    this.skipped = 0;
    this.publish({ data: emptyData(this.entities), pending: 0 });
    for (const watcher of [...this.watchers]) watcher.reset();
  }

  private scheduleFlush(): void {
    if (this.frameScheduled) return;
    this.frameScheduled = true;
    this.scheduleFrame(() => this.flush());
  }

  /** Apply what is queued; one snapshot, one notification. */
  flush(): void {
    this.frameScheduled = false;
    const now = Date.now();
    let data = this.snapshot.data;
    for (const batch of this.queue) {
      data = applyEvents(data, batch.events, this.entities, now, batch.source);
      if (batch.unsent !== undefined) data = applyUnsent(data, batch.unsent, now);
      if (batch.events.length > 0) for (const watcher of [...this.watchers]) watcher.events(batch.events);
    }
    this.queue = [];
    this.queued = 0;
    data = tick(data, now);
    const pending = this.held.length + this.skipped;
    if (data !== this.snapshot.data || pending !== this.snapshot.pending) this.publish({ data, pending });
  }

  /** Events waiting for the next frame (bounded by MAX_QUEUED). */
  get queuedEvents(): number {
    return this.queued;
  }

  /** Events held in memory while paused (bounded by maxPending). */
  get heldEvents(): number {
    return this.held.length;
  }
}
