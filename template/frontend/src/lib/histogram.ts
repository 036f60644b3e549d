/**
 * The histogram's data for the chart: the server lists only buckets with events;
 * the chart needs every bucket of the range, one series per entity, stacked
 * (each series is the running total up to its entity, so bars drawn from the
 * top series down show each entity's share in its color).
 */

import type { Histogram } from "./history";
import type { TimeRange } from "./timeRange";

export interface StackedSeries {
  readonly entity: string;
  readonly color: string;
  /** Per bucket: this entity's count. */
  readonly counts: readonly number[];
  /** Per bucket: the total of this entity and those stacked below it. */
  readonly top: readonly number[];
}

export interface StackedHistogram {
  readonly bucketSeconds: number;
  /** Bucket starts, epoch ms, oldest first, covering the range. */
  readonly starts: readonly number[];
  /** Bottom of the stack first. */
  readonly series: readonly StackedSeries[];
  readonly totals: readonly number[];
  readonly total: number;
}

/** Never more bars than this (the server picks buckets for at most 720). */
export const MAX_BUCKETS = 2000;

export function stackHistogram(
  histogram: Histogram,
  range: TimeRange,
  entities: readonly { readonly name: string; readonly color: string }[],
): StackedHistogram {
  const step = Math.max(1, histogram.bucketSeconds) * 1000;
  const first = Math.floor(range.since / step) * step;
  const count = Math.min(MAX_BUCKETS, Math.max(1, Math.ceil((range.until - first) / step)));
  const starts = Array.from({ length: count }, (_, index) => first + index * step);
  const index = new Map(starts.map((start, position) => [start, position]));
  const counts = new Map(entities.map((entity) => [entity.name, new Array<number>(count).fill(0)]));
  for (const bucket of histogram.buckets) {
    const position = index.get(Math.floor(bucket.start / step) * step);
    if (position === undefined) continue; // outside the range asked for
    for (const [name, value] of Object.entries(bucket.counts)) {
      const row = counts.get(name);
      if (row) row[position] = (row[position] ?? 0) + value;
    }
  }
  const running = new Array<number>(count).fill(0);
  const series: StackedSeries[] = [];
  for (const entity of entities) {
    const own = counts.get(entity.name) ?? [];
    const top = own.map((value, position) => (running[position] = (running[position] ?? 0) + value));
    series.push({ entity: entity.name, color: entity.color, counts: own, top });
  }
  const total = running.reduce((sum, value) => sum + value, 0);
  return { bucketSeconds: histogram.bucketSeconds, starts, series, totals: running, total };
}

/** "1 min", "15 min", "2 h", "1 day": a bucket's width for labels. */
export function bucketLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? "" : "s"}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
