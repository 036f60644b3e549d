/**
 * History mode's controls above the tables: the time range (presets, custom
 * from/to in the page's zone), what is kept, the histogram, paging, and the
 * start of a playback of the range.
 */

import { lazy, Suspense, useContext, useMemo, useState } from "react";
import { PAGE_SIZES, type HistoryView } from "../hooks/useHistory";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { stackHistogram } from "../lib/histogram";
import { PLAYBACK_SPEEDS, type PlaybackSpeed } from "../lib/playback";
import {
  bucketRange,
  formatInstant,
  fromInputValue,
  RANGE_PRESETS,
  rangeProblem,
  retentionNote,
  retentionSummary,
  type TimeRange,
  toInputValue,
} from "../lib/timeRange";
import type { EntityConfig } from "../lib/types";

const HistogramChart = lazy(() => import("./HistogramChart").then((module) => ({ default: module.HistogramChart })));

const BUTTON = "rounded border border-slate-300 px-3 py-1 text-sm disabled:opacity-50 dark:border-slate-700";
const PRESSED = "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900";
const number = new Intl.NumberFormat();

export function speedLabel(speed: PlaybackSpeed): string {
  return speed === "max" ? "Max" : `${speed}×`;
}

export interface HistoryBarProps {
  readonly history: HistoryView;
  /** The entities shown: the histogram's series, in their colors. */
  readonly entities: readonly EntityConfig[];
  readonly pageSize: number;
  readonly onPageSize: (size: number) => void;
  readonly onPlay: (range: TimeRange, speed: PlaybackSpeed) => void;
  /** What the last CSV export of a range did ("Exporting…", "Exported 1,204 events"). */
  readonly exportStatus: string | null;
}

export function HistoryBar({ history, entities, pageSize, onPageSize, onPlay, exportStatus }: HistoryBarProps) {
  const zone = useContext(TimeZoneContext);
  const { choice, range, info, page, pageIndex } = history;
  const [speed, setSpeed] = useState<PlaybackSpeed>(10);
  const note = range && info ? retentionNote(range, info, zone) : null;
  const stacked = useMemo(
    () => (history.histogram && range ? stackHistogram(history.histogram, range, entities) : null),
    [history.histogram, range, entities],
  );
  const narrow = (start: number) => {
    if (range && history.histogram) history.choose({ kind: "custom", range: bucketRange(start, history.histogram.bucketSeconds, range) });
  };
  const shown = page?.events.length ?? 0;

  return (
    <section aria-label="History" data-testid="history-bar" className="flex flex-col gap-3 rounded-lg border border-slate-200 bg-white p-3 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="flex flex-wrap items-center gap-2">
        <div role="group" aria-label="Time range" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
          {RANGE_PRESETS.map((preset) => {
            const pressed = choice.kind === "preset" && choice.preset === preset.id;
            return (
              <button
                key={preset.id}
                type="button"
                aria-pressed={pressed}
                onClick={() => history.choose({ kind: "preset", preset: preset.id })}
                className={`px-3 py-1 text-sm ${pressed ? PRESSED : ""}`}
              >
                {preset.label}
              </button>
            );
          })}
          <button
            type="button"
            aria-pressed={choice.kind === "custom"}
            onClick={() => range && history.choose({ kind: "custom", range })}
            className={`px-3 py-1 text-sm ${choice.kind === "custom" ? PRESSED : ""}`}
          >
            Custom
          </button>
        </div>
        {choice.kind === "preset" ? (
          <button type="button" onClick={history.refresh} className={BUTTON}>
            ↻ Refresh
          </button>
        ) : null}
        <span className="text-sm text-slate-600 dark:text-slate-300" data-testid="history-range">
          {range ? (
            <>
              <time dateTime={new Date(range.since).toISOString()}>{formatInstant(range.since, zone)}</time> –{" "}
              <time dateTime={new Date(range.until).toISOString()}>{formatInstant(range.until, zone)}</time>
            </>
          ) : (
            "Loading the range…"
          )}
        </span>
      </div>

      {choice.kind === "custom" ? (
        // Keyed by the range: a narrowed range shows in the fields.
        <CustomRange key={`${choice.range.since}-${choice.range.until}-${zone}`} range={choice.range} onApply={(next) => history.choose({ kind: "custom", range: next })} />
      ) : null}

      <p className="text-sm text-slate-600 dark:text-slate-300" data-testid="retention">
        {info ? retentionSummary(info) : null}
        {note ? (
          <strong role="status" data-testid="retention-note" className={`ml-1 font-medium ${note.kind === "outside" ? "text-amber-800 dark:text-amber-300" : ""}`}>
            {note.text}
          </strong>
        ) : null}
      </p>

      {history.histogramError ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          Histogram: {history.histogramError}
        </p>
      ) : stacked ? (
        <div className="flex flex-col gap-1">
          <Suspense fallback={<p className="h-36 text-sm text-slate-600 dark:text-slate-300">Loading the chart…</p>}>
            <HistogramChart stacked={stacked} onBucket={narrow} />
          </Suspense>
          <ul aria-label="Events per entity in the range" className="flex flex-wrap gap-3 text-xs text-slate-600 dark:text-slate-300">
            {stacked.series.map((series) => (
              <li key={series.entity} className="inline-flex items-center gap-1">
                <span aria-hidden="true" className="h-2.5 w-2.5 rounded-sm" style={{ backgroundColor: series.color }} />
                {series.entity} {number.format(series.counts.reduce((sum, count) => sum + count, 0))}
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      <div className="flex flex-wrap items-center gap-2">
        <div role="group" aria-label="Pages" className="inline-flex gap-1">
          <button type="button" onClick={history.newest} disabled={pageIndex === 0 || history.loading} className={BUTTON}>
            ⇤ Newest
          </button>
          <button type="button" onClick={history.newer} disabled={pageIndex === 0 || !page?.newer || history.loading} className={BUTTON}>
            ← Newer
          </button>
          <button type="button" onClick={history.older} disabled={!page?.older || history.loading} className={BUTTON}>
            Older →
          </button>
        </div>
        <span className="text-sm tabular-nums text-slate-600 dark:text-slate-300" data-testid="history-page" aria-live="polite">
          {history.loading
            ? "Loading…"
            : page
              ? `${number.format(shown)} event${shown === 1 ? "" : "s"} · ${pageIndex === 0 ? "newest page" : `${pageIndex} page${pageIndex === 1 ? "" : "s"} older`}`
              : ""}
        </span>
        <label className="inline-flex items-center gap-1 text-sm">
          Per page
          <select
            value={pageSize}
            onChange={(event) => onPageSize(Number(event.target.value))}
            className="rounded border border-slate-300 bg-white px-1 py-0.5 dark:border-slate-700 dark:bg-slate-900"
          >
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
        <span className="ml-auto inline-flex flex-wrap items-center gap-2">
          <span role="group" aria-label="Playback speed" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
            {PLAYBACK_SPEEDS.map((option) => (
              <button
                key={option}
                type="button"
                aria-pressed={speed === option}
                onClick={() => setSpeed(option)}
                className={`px-2 py-1 text-sm ${speed === option ? PRESSED : ""}`}
              >
                {speedLabel(option)}
              </button>
            ))}
          </span>
          <button
            type="button"
            disabled={range === null}
            onClick={() => range && onPlay(range, speed)}
            className="rounded bg-sky-700 px-3 py-1 text-sm font-medium text-white disabled:opacity-50"
          >
            ▶ Play this range
          </button>
        </span>
      </div>
      {history.error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300" data-testid="history-error">
          {history.error}
        </p>
      ) : null}
      {exportStatus ? (
        <p role="status" className="text-sm text-slate-600 dark:text-slate-300" data-testid="export-status">
          {exportStatus}
        </p>
      ) : null}
    </section>
  );
}

/** From / to in the page's zone; applied on submit, refused with a reason when not a range. */
function CustomRange({ range, onApply }: { range: TimeRange; onApply: (range: TimeRange) => void }) {
  const zone = useContext(TimeZoneContext);
  const [from, setFrom] = useState(() => toInputValue(range.since, zone));
  const [to, setTo] = useState(() => toInputValue(range.until, zone));
  const [problem, setProblem] = useState<string | null>(null);
  const where = zone === "utc" ? "UTC" : "local time";
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        const since = fromInputValue(from, zone);
        const until = fromInputValue(to, zone);
        const reason = rangeProblem(since, until);
        setProblem(reason);
        if (reason === null && since !== null && until !== null) onApply({ since, until });
      }}
    >
      <MomentField label={`From (${where})`} value={from} onChange={setFrom} />
      <MomentField label={`To (${where})`} value={to} onChange={setTo} />
      <button type="submit" className={BUTTON}>
        Apply
      </button>
      {problem ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {problem}
        </p>
      ) : null}
    </form>
  );
}

/** One end of the custom range: a labelled date and time, to the second, in the page's zone. */
function MomentField(props: { readonly label: string; readonly value: string; readonly onChange: (value: string) => void }) {
  return (
    <label className="flex flex-col text-xs text-slate-600 dark:text-slate-300">
      {props.label}
      <input
        type="datetime-local"
        step={1}
        value={props.value}
        onChange={(event) => props.onChange(event.target.value)}
        className="rounded border border-slate-300 bg-white px-2 py-1 text-sm text-slate-900 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
      />
    </label>
  );
}
