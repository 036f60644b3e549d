/**
 * Playback's state: a store of its own (the live one keeps running beside it,
 * so nothing live is lost and "back to live" shows it at once), fed by the
 * scheduler of lib/playback.ts with pages of the range fetched oldest first.
 * Due events are applied once per animation frame, with the playback position
 * as the store's clock: rates and "last event" follow the replayed time.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../lib/api";
import { fetchPage, type HistoryFilter } from "../lib/history";
import { PlaybackScheduler, type PlaybackSpeed, type PlaybackStatus, type Timers } from "../lib/playback";
import { applyEvents, type DashboardData, emptyData, tick } from "../lib/store";
import type { TimeRange } from "../lib/timeRange";
import type { DbEvent, EntityConfig } from "../lib/types";

/** Events fetched per page while playing. */
export const PLAYBACK_PAGE = 2000;
/** Due events held for the next frame before they are applied without it. */
const MAX_DUE = 5000;
const ALL: HistoryFilter = { entities: null, eventTypes: null, q: "" };

const browserTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => window.setTimeout(callback, ms),
  clearTimeout: (handle) => window.clearTimeout(handle),
};

export interface Playback {
  /** The range being replayed; null when not playing back. */
  readonly range: TimeRange | null;
  readonly status: PlaybackStatus | null;
  readonly data: DashboardData;
  readonly error: string | null;
  /** Starts replaying `range` from its beginning at `speed`. */
  readonly start: (range: TimeRange, speed: PlaybackSpeed) => void;
  /** Ends playback and drops its data. */
  readonly stop: () => void;
  readonly play: () => void;
  readonly pause: () => void;
  readonly setSpeed: (speed: PlaybackSpeed) => void;
  readonly seek: (position: number) => void;
}

export function usePlayback(api: Api, entities: readonly EntityConfig[], pageSize = PLAYBACK_PAGE): Playback {
  const [range, setRange] = useState<TimeRange | null>(null);
  const [status, setStatus] = useState<PlaybackStatus | null>(null);
  const [data, setData] = useState<DashboardData>(() => emptyData(entities));
  const [error, setError] = useState<string | null>(null);
  const scheduler = useRef<PlaybackScheduler<DbEvent> | null>(null);
  const abort = useRef<AbortController | null>(null);
  // Between frames: what is due, and whether the views start over.
  const due = useRef<{ events: DbEvent[]; position: number; reset: boolean; frame: number | null }>({
    events: [],
    position: 0,
    reset: false,
    frame: null,
  });
  const entitiesRef = useRef(entities);
  entitiesRef.current = entities;

  const flush = useCallback(() => {
    const pending = due.current;
    pending.frame = null;
    const { events, reset, position } = pending;
    pending.events = [];
    pending.reset = false;
    setData((current) => {
      const base = reset ? emptyData(entitiesRef.current, position) : current;
      return events.length > 0 ? applyEvents(base, events, entitiesRef.current, position, "live") : tick(base, position);
    });
    const running = scheduler.current;
    if (running) setStatus(running.status);
  }, []);

  const scheduleFlush = useCallback(() => {
    // A hidden tab gets no frames: past MAX_DUE events they are applied without waiting for one.
    if (due.current.events.length > MAX_DUE) {
      if (due.current.frame !== null) cancelAnimationFrame(due.current.frame);
      flush();
    } else if (due.current.frame === null) {
      due.current.frame = requestAnimationFrame(flush);
    }
  }, [flush]);

  const stop = useCallback(() => {
    scheduler.current?.dispose();
    scheduler.current = null;
    abort.current?.abort();
    abort.current = null;
    if (due.current.frame !== null) cancelAnimationFrame(due.current.frame);
    due.current = { events: [], position: 0, reset: false, frame: null };
    setRange(null);
    setStatus(null);
    setError(null);
    setData(emptyData(entitiesRef.current));
  }, []);

  const start = useCallback(
    (next: TimeRange, speed: PlaybackSpeed) => {
      stop();
      const controller = new AbortController();
      abort.current = controller;
      // Where the pages are read from: the range, or from a seek's position on; the cursor continues it.
      let reading: TimeRange = next;
      let cursor: string | null = null;
      let latest = 0;
      const created: PlaybackScheduler<DbEvent> = new PlaybackScheduler<DbEvent>(
        next.since,
        next.until,
        {
          emit: (events, position) => {
            due.current.events.push(...events);
            due.current.position = position;
            scheduleFlush();
          },
          progress: (progress) => {
            due.current.position = progress.position;
            scheduleFlush();
          },
          needMore: (generation, from) => {
            latest = generation;
            if (from !== null) {
              reading = { since: from, until: next.until };
              cursor = null;
              due.current.events = [];
              due.current.reset = true;
              due.current.position = from;
            }
            fetchPage(api, reading, ALL, { limit: pageSize, order: "asc", cursor }, controller.signal).then(
              (page) => {
                if (scheduler.current !== created || generation !== latest) return;
                // Ascending pages: `newer` continues, and is null once the range is read.
                cursor = page.newer;
                created.append(generation, page.events, page.newer === null);
              },
              (problem: unknown) => {
                if (controller.signal.aborted) return;
                setError(problem instanceof Error ? problem.message : String(problem));
                created.pause();
                setStatus(created.status);
              },
            );
          },
        },
        { timers: browserTimers },
      );
      scheduler.current = created;
      setRange(next);
      created.setSpeed(speed);
      created.start();
      created.play();
      setStatus(created.status);
    },
    [api, stop, scheduleFlush, pageSize],
  );

  useEffect(() => stop, [stop]);

  // A new entity model (a reload of /api/entities) starts the views over.
  useEffect(() => {
    setData(emptyData(entities));
  }, [entities]);

  const act = (action: (running: PlaybackScheduler<DbEvent>) => void) => () => {
    const running = scheduler.current;
    if (running === null) return;
    action(running);
    setStatus(running.status);
  };

  return {
    range,
    status,
    data,
    error,
    start,
    stop,
    play: act((running) => {
      setError(null);
      running.play();
    }),
    pause: act((running) => running.pause()),
    setSpeed: (speed) => act((running) => running.setSpeed(speed))(),
    seek: (position) => act((running) => running.seek(position))(),
  };
}
