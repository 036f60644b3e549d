/**
 * Events per bucket over the range, stacked by entity color, drawn by uPlot
 * (small, canvas, fast with hundreds of bars). Loaded on demand (React.lazy):
 * the live page does not download or parse it. A click on a bar, or Enter
 * after choosing a bucket with the arrow keys, narrows the range to that bucket.
 */

import { type KeyboardEvent, useContext, useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { formatClock } from "../lib/format";
import { bucketLabel, type StackedHistogram } from "../lib/histogram";

const HEIGHT = 140;
const AXIS = "#64748b"; // slate-500: readable on the light and the dark background
const GRID = "rgba(100, 116, 139, 0.2)";
const number = new Intl.NumberFormat();

export interface HistogramChartProps {
  readonly stacked: StackedHistogram;
  /** Called with the start (epoch ms) of the bucket chosen. */
  readonly onBucket: (start: number) => void;
}

/** "10:01:00 – 10:02:00: 3 events (Order 2, Customer 1)". */
function bucketText(stacked: StackedHistogram, index: number, zone: "local" | "utc"): string {
  const start = stacked.starts[index] ?? 0;
  const total = stacked.totals[index] ?? 0;
  const parts = stacked.series
    .filter((series) => (series.counts[index] ?? 0) > 0)
    .map((series) => `${series.entity} ${number.format(series.counts[index] ?? 0)}`);
  const span = `${formatClock(start, zone)} – ${formatClock(start + stacked.bucketSeconds * 1000, zone)}`;
  return `${span}: ${number.format(total)} event${total === 1 ? "" : "s"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

export function HistogramChart({ stacked, onBucket }: HistogramChartProps) {
  const zone = useContext(TimeZoneContext);
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [chosen, setChosen] = useState<number | null>(null);
  // Read through refs: a new callback from the parent must not redraw the chart.
  const onBucketRef = useRef(onBucket);
  onBucketRef.current = onBucket;

  const indexAt = (left: number): number | null => {
    const chart = plot.current;
    if (chart === null || left < 0) return null;
    const seconds = chart.posToVal(left, "x");
    const first = stacked.starts[0];
    if (first === undefined || Number.isNaN(seconds)) return null;
    const index = Math.floor((seconds * 1000 - first) / (stacked.bucketSeconds * 1000));
    return index >= 0 && index < stacked.starts.length ? index : null;
  };
  const indexAtRef = useRef(indexAt);
  indexAtRef.current = indexAt;

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    // Drawn from the top of the stack down: each lower series paints over the one above.
    const drawn = [...stacked.series].reverse();
    const bars = uPlot.paths.bars?.({ size: [0.9, 64], align: 1 });
    const step = stacked.bucketSeconds;
    const first = (stacked.starts[0] ?? 0) / 1000;
    const last = (stacked.starts.at(-1) ?? 0) / 1000 + step;
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false }, y: false },
      scales: { x: { time: true, range: [first, last] }, y: { range: (_self, _min, max) => [0, Math.max(1, max) * 1.1] } },
      ...(zone === "utc" ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC") } : {}),
      axes: [
        { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID } },
        { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, size: 44 },
      ],
      series: [
        {},
        ...drawn.map((series) => ({
          label: series.entity,
          stroke: series.color,
          fill: series.color,
          width: 0,
          points: { show: false },
          ...(bars ? { paths: bars } : {}),
        })),
      ],
      hooks: {
        setCursor: [(chart: uPlot) => setChosen(indexAtRef.current(chart.cursor.left ?? -1))],
      },
    };
    const data: uPlot.AlignedData = [stacked.starts.map((start) => start / 1000), ...drawn.map((series) => [...series.top])];
    const chart = new uPlot(options, data, element);
    plot.current = chart;
    const click = () => {
      const index = indexAtRef.current(chart.cursor.left ?? -1);
      const start = index === null ? undefined : stacked.starts[index];
      if (start !== undefined && (stacked.totals[index ?? 0] ?? 0) > 0) onBucketRef.current(start);
    };
    chart.over.addEventListener("click", click);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.over.removeEventListener("click", click);
      chart.destroy();
      plot.current = null;
    };
  }, [stacked, zone]);

  const onKey = (key: KeyboardEvent) => {
    const last = stacked.starts.length - 1;
    const move: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity };
    if (key.key in move) {
      key.preventDefault();
      const from = chosen ?? (key.key === "ArrowLeft" ? last + 1 : -1);
      setChosen(Math.min(last, Math.max(0, from + (move[key.key] ?? 0))));
    } else if (key.key === "Enter" && chosen !== null) {
      key.preventDefault();
      const start = stacked.starts[chosen];
      if (start !== undefined) onBucket(start);
    }
  };

  const width = bucketLabel(stacked.bucketSeconds);
  return (
    <div className="flex flex-col gap-1">
      {/* A focusable group: the arrow keys choose a bucket, Enter narrows the range to it. */}
      <div
        ref={container}
        role="group"
        tabIndex={0}
        onKeyDown={onKey}
        aria-label={`Events per ${width}: ${number.format(stacked.total)} in the range. Arrow keys choose a bucket, Enter narrows the range to it.`}
        aria-describedby="histogram-readout"
        data-testid="histogram"
        className="min-w-0 cursor-pointer rounded focus-visible:outline-2 focus-visible:outline-sky-600"
      />
      <p id="histogram-readout" aria-live="polite" className="min-h-5 text-xs tabular-nums text-slate-600 dark:text-slate-300" data-testid="histogram-readout">
        {chosen === null ? `Events per ${width}; click a bar to narrow the range to it.` : bucketText(stacked, chosen, zone)}
      </p>
    </div>
  );
}
