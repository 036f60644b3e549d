import { describe, expect, it } from "vitest";
import { PlaybackScheduler, type PlaybackStatus, type Timers } from "../lib/playback";

/** A clock that moves only when told to, running due timers in order. */
class FakeClock implements Timers {
  private time = 0;
  private nextHandle = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  readonly now = (): number => this.time;

  readonly setTimeout = (callback: () => void, ms: number): number => {
    const handle = this.nextHandle++;
    this.pending.set(handle, { at: this.time + ms, callback });
    return handle;
  };

  readonly clearTimeout = (handle: number): void => {
    this.pending.delete(handle);
  };

  /** Moves to `now + ms`, running each timer at its own moment. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let first: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.pending.delete(first[0]);
      this.time = first[1].at;
      first[1].callback();
    }
    this.time = end;
  }
}

interface Ev {
  readonly id: number;
  readonly timestamp: string;
}

const T0 = Date.parse("2026-11-27T10:00:00.000Z");
const at = (id: number, offsetMs: number): Ev => ({ id, timestamp: new Date(T0 + offsetMs).toISOString() });

function setup(span: number, options: { lowWater?: number; maxBatch?: number } = {}) {
  const clock = new FakeClock();
  const emitted: { id: number; wall: number; position: number }[] = [];
  const statuses: PlaybackStatus[] = [];
  const requests: { generation: number; from: number | null }[] = [];
  const scheduler = new PlaybackScheduler<Ev>(
    T0,
    T0 + span,
    {
      emit: (events, position) => {
        for (const event of events) emitted.push({ id: event.id, wall: clock.now(), position });
      },
      progress: (status) => statuses.push(status),
      needMore: (generation, from) => requests.push({ generation, from }),
    },
    { timers: clock, ...options },
  );
  scheduler.start();
  return { clock, scheduler, emitted, statuses, requests };
}

describe("playback", () => {
  it.each([1, 10, 60] as const)("replays at %ix with the original spacing divided by the speed", (speed) => {
    const offsets = [0, 1000, 5000, 9000];
    const { clock, scheduler, emitted, requests } = setup(10_000);
    expect(requests).toEqual([{ generation: 1, from: T0 }]);
    scheduler.append(1, offsets.map((offset, n) => at(n + 1, offset)), true);
    scheduler.setSpeed(speed);
    scheduler.play();
    clock.advance(20_000);
    expect(emitted.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    // Each event leaves when the position reaches it: at most a millisecond late.
    emitted.forEach((event, index) => {
      const due = (offsets[index] ?? 0) / speed;
      expect(event.wall).toBeGreaterThanOrEqual(due);
      expect(event.wall).toBeLessThanOrEqual(due + 1);
    });
    expect(scheduler.status).toEqual({ state: "ended", position: T0 + 10_000, speed });
  });

  it("ends at the end of the range, not at its last event", () => {
    const { clock, scheduler } = setup(10_000);
    scheduler.append(1, [at(1, 1000)], true);
    scheduler.setSpeed(10);
    scheduler.play();
    clock.advance(999);
    expect(scheduler.status.state).toBe("playing");
    clock.advance(1);
    expect(scheduler.status.state).toBe("ended");
  });

  it("pauses where it is and resumes from there; a speed change keeps the position", () => {
    const { clock, scheduler, emitted } = setup(10_000);
    scheduler.append(1, [at(1, 1000), at(2, 3000), at(3, 6000)], true);
    scheduler.setSpeed(10);
    scheduler.play();
    clock.advance(150); // position 1.5 s
    expect(emitted.map((e) => e.id)).toEqual([1]);
    scheduler.pause();
    expect(scheduler.status).toEqual({ state: "paused", position: T0 + 1500, speed: 10 });
    clock.advance(10_000);
    expect(emitted.map((e) => e.id)).toEqual([1]);
    scheduler.play();
    clock.advance(149);
    expect(emitted.map((e) => e.id)).toEqual([1]);
    clock.advance(1); // 1.5 s + 150 ms x 10 = 3 s
    expect(emitted.map((e) => e.id)).toEqual([1, 2]);
    scheduler.setSpeed(1); // from 3 s at 1x: event 3 in 3 s
    clock.advance(2999);
    expect(emitted.map((e) => e.id)).toEqual([1, 2]);
    clock.advance(1);
    expect(emitted.map((e) => e.id)).toEqual([1, 2, 3]);
  });

  it("waits for the next page instead of running past the newest event loaded", () => {
    const { clock, scheduler, emitted, requests } = setup(10_000, { lowWater: 2 });
    scheduler.append(1, [at(1, 0), at(2, 1000)], false);
    scheduler.setSpeed(10);
    scheduler.play();
    clock.advance(100);
    expect(emitted.map((e) => e.id)).toEqual([1, 2]);
    expect(requests).toEqual([
      { generation: 1, from: T0 },
      { generation: 1, from: null },
    ]);
    clock.advance(1000);
    expect(scheduler.status).toMatchObject({ state: "buffering", position: T0 + 1000 });
    // The page arrives late: its events keep their spacing from where playback stopped.
    scheduler.append(1, [at(3, 2000), at(4, 4000)], true);
    expect(scheduler.status.state).toBe("playing");
    const resumed = clock.now();
    clock.advance(1000);
    expect(emitted.slice(2).map((e) => [e.id, e.wall - resumed])).toEqual([
      [3, 100],
      [4, 300],
    ]);
    expect(requests).toHaveLength(2); // complete: nothing more asked
  });

  it("asks for one page at a time when the queue runs low", () => {
    const { clock, scheduler, requests } = setup(100_000, { lowWater: 3 });
    scheduler.append(1, [1, 2, 3, 4, 5].map((n) => at(n, n * 1000)), false);
    scheduler.setSpeed(60);
    scheduler.play();
    clock.advance(17); // events 1 (at 1 s) only
    expect(requests).toHaveLength(1);
    clock.advance(34); // and 2, 3: two left
    expect(requests).toHaveLength(2);
    clock.advance(20);
    expect(requests).toHaveLength(2); // still waiting for that page
  });

  it("seeks: drops what was queued, reloads from there, ignores the answers for before the seek", () => {
    const { clock, scheduler, emitted, requests } = setup(10_000);
    scheduler.append(1, [at(1, 0), at(2, 2000), at(3, 8000)], true);
    scheduler.setSpeed(10);
    scheduler.play();
    clock.advance(50);
    scheduler.seek(T0 + 7000);
    expect(requests.at(-1)).toEqual({ generation: 2, from: T0 + 7000 });
    scheduler.append(1, [at(2, 2000)], false); // a page asked for before the seek
    scheduler.append(2, [at(3, 8000)], true);
    clock.advance(99);
    expect(emitted.map((e) => e.id)).toEqual([1]);
    clock.advance(1);
    expect(emitted.map((e) => e.id)).toEqual([1, 3]);
    expect(emitted.at(-1)?.position).toBe(T0 + 8000);
  });

  it("plays an ended range again from its start", () => {
    const { clock, scheduler, emitted, requests } = setup(1000);
    scheduler.append(1, [at(1, 500)], true);
    scheduler.setSpeed("max");
    scheduler.play();
    clock.advance(100);
    expect(scheduler.status.state).toBe("ended");
    scheduler.play();
    expect(requests.at(-1)).toEqual({ generation: 2, from: T0 });
    scheduler.append(2, [at(1, 500)], true);
    clock.advance(100);
    expect(emitted.map((e) => e.id)).toEqual([1, 1]);
  });

  it("as fast as possible: batches per tick, in order, whatever the spacing", () => {
    const { clock, scheduler, emitted } = setup(3_600_000, { maxBatch: 100 });
    const events = Array.from({ length: 250 }, (_, n) => at(n + 1, n * 10_000));
    scheduler.append(1, events, true);
    scheduler.setSpeed("max");
    scheduler.play();
    clock.advance(0);
    expect(emitted).toHaveLength(100);
    clock.advance(16);
    expect(emitted).toHaveLength(200);
    clock.advance(16);
    expect(emitted.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(scheduler.status).toMatchObject({ state: "ended", position: T0 + 3_600_000 });
  });

  it("reports progress while nothing is due, so a slider can follow", () => {
    const { clock, scheduler, statuses } = setup(10_000);
    scheduler.append(1, [], true);
    scheduler.play();
    const before = statuses.length;
    clock.advance(1000);
    expect(statuses.length - before).toBeGreaterThanOrEqual(5);
    expect(scheduler.status.position).toBe(T0 + 1000);
  });

  it("keeps events with equal or unreadable timestamps in their order", () => {
    const { clock, scheduler, emitted } = setup(1000);
    scheduler.append(1, [at(1, 100), { id: 2, timestamp: "garbage" }, at(3, 100), at(4, 50)], true);
    scheduler.setSpeed(1);
    scheduler.play();
    clock.advance(1000);
    expect(emitted.map((e) => e.id)).toEqual([1, 2, 3, 4]);
  });
});
