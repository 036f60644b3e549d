/**
 * Playback: replays the events of a time range at 1x, 10x, 60x or as fast as
 * possible. Pure scheduling, without React or fetch: the clock and timers are
 * injected (a fake clock in the tests), events come in pages through
 * `append`, and due events leave through `emit`.
 *
 * The position is a moment of the range (epoch ms). While playing it moves at
 * `speed` times the wall clock from an anchor (the wall time and position of the
 * last play, seek, speed change or refill): events are emitted when the position
 * reaches their timestamp, so a range replays with its original spacing divided
 * by the speed, and nothing drifts (each tick recomputes from the anchor).
 * The position never passes the newest event loaded while more remain to load:
 * playback waits ("buffering") instead of emitting late events out of their time.
 */

export type PlaybackSpeed = 1 | 10 | 60 | "max";
export const PLAYBACK_SPEEDS: readonly PlaybackSpeed[] = [1, 10, 60, "max"];

export type PlaybackState = "paused" | "playing" | "buffering" | "ended";

export interface Timers {
  readonly now: () => number;
  readonly setTimeout: (callback: () => void, ms: number) => number;
  readonly clearTimeout: (handle: number) => void;
}

export interface TimedEvent {
  readonly id: number;
  readonly timestamp: string;
}

export interface PlaybackStatus {
  readonly state: PlaybackState;
  /** The moment of the range reached (epoch ms). */
  readonly position: number;
  readonly speed: PlaybackSpeed;
}

export interface PlaybackHandlers<T extends TimedEvent> {
  /** Events whose moment has come, oldest first; `position` is the moment reached. */
  readonly emit: (events: readonly T[], position: number) => void;
  /** State changes, and progress while playing (at least every `progressMs`). */
  readonly progress: (status: PlaybackStatus) => void;
  /**
   * Load the next events, oldest first: from `from` (a new start, after a seek;
   * events at `from` included), or after the last event appended when `from` is
   * null. Answer with `append(generation, …)`: an answer for an older generation
   * (a seek happened meanwhile) is dropped.
   */
  readonly needMore: (generation: number, from: number | null) => void;
}

export interface PlaybackOptions {
  readonly timers: Timers;
  /** Queued events below which the next page is asked for. */
  readonly lowWater?: number;
  /** Events per tick "as fast as possible" (one tick per `maxTickMs`). */
  readonly maxBatch?: number;
  readonly maxTickMs?: number;
  /** Longest wait between two progress reports while playing. */
  readonly progressMs?: number;
}

interface Queued<T> {
  readonly at: number;
  readonly event: T;
}

/** An event's moment (epoch ms); an unreadable timestamp plays at the start. */
export function eventTime(event: TimedEvent): number {
  const at = Date.parse(event.timestamp);
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

export class PlaybackScheduler<T extends TimedEvent> {
  private readonly timers: Timers;
  private readonly handlers: PlaybackHandlers<T>;
  private readonly lowWater: number;
  private readonly maxBatch: number;
  private readonly maxTickMs: number;
  private readonly progressMs: number;

  private queue: Queued<T>[] = [];
  private head = 0;
  /** Everything up to `until` is appended: no more pages. */
  private complete = false;
  /** The newest moment loaded (the last event appended, or where loading started). */
  private loadedUntil: number;
  private requested = false;
  private generation = 0;

  private state: PlaybackState = "paused";
  private speed: PlaybackSpeed = 1;
  private anchorWall = 0;
  private anchorPosition: number;
  private timer: number | null = null;

  constructor(
    readonly since: number,
    readonly until: number,
    handlers: PlaybackHandlers<T>,
    options: PlaybackOptions,
  ) {
    this.handlers = handlers;
    this.timers = options.timers;
    this.lowWater = options.lowWater ?? 1000;
    this.maxBatch = options.maxBatch ?? 500;
    this.maxTickMs = options.maxTickMs ?? 16;
    this.progressMs = options.progressMs ?? 200;
    this.loadedUntil = since;
    this.anchorPosition = since;
  }

  get status(): PlaybackStatus {
    return { state: this.state, position: this.currentPosition(), speed: this.speed };
  }

  /** Asks for the first page; call once, before `play`. */
  start(): void {
    this.request(this.since);
  }

  /** A page of events, oldest first, after those appended before; `complete`: the range is fully loaded. */
  append(generation: number, events: readonly T[], complete: boolean): void {
    if (generation !== this.generation) return;
    this.requested = false;
    for (const event of events) {
      const at = Math.max(eventTime(event), this.loadedUntil);
      this.queue.push({ at, event });
      this.loadedUntil = at;
    }
    if (complete) {
      this.complete = true;
      this.loadedUntil = this.until;
    }
    if (this.state === "buffering") {
      this.anchor(this.anchorPosition);
      this.state = "playing";
      this.schedule(0);
    } else if (this.state === "playing") {
      this.schedule(0);
    }
  }

  play(): void {
    if (this.state === "playing" || this.state === "buffering") return;
    if (this.state === "ended") {
      this.seek(this.since);
    }
    this.anchor(this.anchorPosition);
    this.state = "playing";
    this.report();
    this.schedule(0);
  }

  pause(): void {
    if (this.state === "paused" || this.state === "ended") return;
    this.anchor(this.currentPosition());
    this.state = "paused";
    this.cancel();
    this.report();
  }

  setSpeed(speed: PlaybackSpeed): void {
    this.anchor(this.currentPosition());
    this.speed = speed;
    this.report();
    if (this.state === "playing") this.schedule(0);
  }

  /** Moves to `position`: what was queued is dropped and loading starts again from there. */
  seek(position: number): void {
    const to = Math.min(Math.max(position, this.since), this.until);
    this.cancel();
    this.queue = [];
    this.head = 0;
    this.complete = false;
    this.loadedUntil = to;
    this.anchor(to);
    if (this.state === "ended" || this.state === "buffering") this.state = "paused";
    this.request(to);
    this.report();
    if (this.state === "playing") this.schedule(0);
  }

  dispose(): void {
    this.cancel();
    this.generation += 1;
    this.state = "paused";
  }

  /** Events queued and not emitted yet. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  private anchor(position: number): void {
    this.anchorWall = this.timers.now();
    this.anchorPosition = position;
  }

  /** How far loading reaches: the position may not pass it. */
  private limit(): number {
    return this.complete ? this.until : Math.min(this.loadedUntil, this.until);
  }

  private currentPosition(): number {
    if (this.state !== "playing" || this.speed === "max") return this.anchorPosition;
    const moved = this.anchorPosition + (this.timers.now() - this.anchorWall) * this.speed;
    return Math.min(moved, this.limit());
  }

  private request(from: number | null): void {
    if (from !== null) this.generation += 1;
    else if (this.requested || this.complete) return;
    this.requested = true;
    this.handlers.needMore(this.generation, from);
  }

  private schedule(delay: number): void {
    this.cancel();
    this.timer = this.timers.setTimeout(() => this.tick(), Math.max(0, delay));
  }

  private cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private report(): void {
    this.handlers.progress(this.status);
  }

  private tick(): void {
    this.timer = null;
    if (this.state !== "playing") return;
    const due: T[] = [];
    let position: number;
    if (this.speed === "max") {
      while (due.length < this.maxBatch && this.head < this.queue.length) {
        const next = this.queue[this.head++] as Queued<T>;
        due.push(next.event);
        this.anchorPosition = next.at;
      }
      position = this.head < this.queue.length ? this.anchorPosition : this.limit();
      this.anchorPosition = position;
    } else {
      position = this.currentPosition();
      while (this.head < this.queue.length && (this.queue[this.head] as Queued<T>).at <= position) {
        due.push((this.queue[this.head++] as Queued<T>).event);
      }
    }
    this.compact();
    if (due.length > 0) this.handlers.emit(due, position);
    if (this.queued < this.lowWater) this.request(null);

    const drained = this.head >= this.queue.length;
    if (drained && position >= this.limit()) {
      this.anchor(position);
      this.state = this.complete ? "ended" : "buffering";
      if (this.complete) this.anchorPosition = this.until;
      this.report();
      return;
    }
    this.report();
    if (this.speed === "max") {
      this.schedule(this.maxTickMs);
      return;
    }
    const next = drained ? this.limit() : (this.queue[this.head] as Queued<T>).at;
    this.schedule(Math.min((next - position) / this.speed, this.progressMs));
  }

  /** Drops emitted events from the front now and then (not per tick: slicing is O(n)). */
  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
