/**
 * A value as it was at the last tick of a slow clock: what a heavy part of the
 * page renders, so it renders a few times a second however fast events come.
 *
 * At 1,000 events/s every batch replaces the rows in view, so a table's cost
 * per second is its cost per render times its renders: pacing is what bounds it.
 * Each paced part has a `slot` (its phase in the period): the four tables do not
 * tick together, so each frame lays out and paints one of them, not all four in
 * one long task that a shared CPU stretches past 100 ms.
 *
 * A change after a quiet period (nothing drawn for a whole period) is drawn at
 * once: pacing bounds the renders per second of a busy part, it must not delay
 * the one row of a quiet table (the plan's "within 100 ms of the insert").
 */

import { useEffect, useRef, useState } from "react";

/** The next tick of slot `slot` of `slots` in a period of `periodMs`, after `nowMs` (ms on the same clock). */
export function nextTick(nowMs: number, periodMs: number, slot: number, slots: number): number {
  const offset = (periodMs * (slot % slots)) / slots;
  return Math.floor((nowMs - offset) / periodMs + 1) * periodMs + offset;
}

/** A paced part's clock: its period and its phase (slot `slot` of `slots` in the period). */
export interface Pace {
  readonly periodMs: number;
  readonly slot: number;
  readonly slots: number;
}

/**
 * `value` as of this slot's last tick; a new value shows at the next tick (at most
 * `periodMs` later), or at once when nothing was drawn for a period. `same` tells
 * values that need no render apart (default Object.is). Without a pace every value
 * passes through at once.
 */
export function usePaced<T>(value: T, pace: Pace | undefined, same: (a: T, b: T) => boolean = Object.is): T {
  const { periodMs = 0, slot = 0, slots = 1 } = pace ?? {};
  const [shown, setShown] = useState(value);
  const latest = useRef(value);
  latest.current = value;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const drawnAt = useRef(Number.NEGATIVE_INFINITY);
  const pending = periodMs > 0 && !same(value, shown);

  useEffect(() => {
    if (!pending || timer.current !== undefined) return;
    const now = performance.now();
    const quiet = now - drawnAt.current >= periodMs;
    timer.current = setTimeout(
      () => {
        timer.current = undefined;
        drawnAt.current = performance.now();
        setShown(() => latest.current);
      },
      quiet ? 0 : nextTick(now, periodMs, slot, slots) - now,
    );
  });
  // Unpaced (History, a test): what is drawn is the value itself, and a later pace starts from it.
  if (periodMs === 0 && !Object.is(shown, value) && !same(shown, value)) setShown(() => value);
  useEffect(() => () => clearTimeout(timer.current), []);
  return periodMs > 0 ? shown : value;
}

/** Equal when every property is the same object (props of a memoized component). */
export function sameProps<T extends object>(a: T, b: T): boolean {
  if (a === b) return true;
  const keys = Object.keys(a) as (keyof T)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.is(a[key], b[key]));
}
