/**
 * The controls of a playback, and its visible state: which range is replayed,
 * playing or paused, the speed, the position (a slider to move it), and the
 * one click back to live.
 */

import { useContext, useState } from "react";
import type { Playback } from "../hooks/usePlayback";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { PLAYBACK_SPEEDS, type PlaybackState } from "../lib/playback";
import { formatInstant, formatRange } from "../lib/timeRange";
import { speedLabel } from "./HistoryBar";

const BUTTON = "rounded border border-slate-300 px-3 py-1 text-sm dark:border-slate-700";
const PRESSED = "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900";

const STATE_LABELS: Record<PlaybackState, string> = {
  playing: "Playing",
  paused: "Paused",
  buffering: "Loading the next events…",
  ended: "Ended",
};

export function PlaybackBar({ playback, onLive, onHistory }: { playback: Playback; onLive: () => void; onHistory: () => void }) {
  const zone = useContext(TimeZoneContext);
  const { range, status } = playback;
  // While the slider is dragged: where it is, applied on release (a seek reloads from there).
  const [dragging, setDragging] = useState<number | null>(null);
  if (range === null || status === null) return null;
  const position = dragging ?? status.position;
  const running = status.state === "playing" || status.state === "buffering";
  const release = () => {
    if (dragging !== null) playback.seek(dragging);
    setDragging(null);
  };

  return (
    <section
      aria-label="Playback"
      data-testid="playback-bar"
      data-state={status.state}
      className="flex flex-col gap-2 rounded-lg border-2 border-violet-600 bg-violet-50 p-3 dark:border-violet-400 dark:bg-violet-950"
    >
      <div className="flex flex-wrap items-center gap-2">
        <strong className="rounded bg-violet-700 px-2 py-0.5 text-sm text-white" data-testid="playback-state">
          Playback · {STATE_LABELS[status.state]}
        </strong>
        <span className="text-sm">of {formatRange(range, zone)}</span>
        <span className="ml-auto inline-flex gap-2">
          <button type="button" onClick={onHistory} className={BUTTON}>
            History
          </button>
          <button type="button" onClick={onLive} className="rounded bg-slate-800 px-3 py-1 text-sm font-medium text-white dark:bg-slate-200 dark:text-slate-900">
            Back to live
          </button>
        </span>
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <button type="button" onClick={running ? playback.pause : playback.play} className={BUTTON}>
          {running ? "⏸ Pause" : status.state === "ended" ? "↺ Replay" : "▶ Resume"}
        </button>
        <span role="group" aria-label="Playback speed" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
          {PLAYBACK_SPEEDS.map((option) => (
            <button
              key={option}
              type="button"
              aria-pressed={status.speed === option}
              onClick={() => playback.setSpeed(option)}
              className={`px-2 py-1 text-sm ${status.speed === option ? PRESSED : ""}`}
            >
              {speedLabel(option)}
            </button>
          ))}
        </span>
        <input
          type="range"
          aria-label="Playback position"
          aria-valuetext={formatInstant(position, zone)}
          min={range.since}
          max={range.until}
          step={Math.max(1, Math.round((range.until - range.since) / 1000))}
          value={position}
          onChange={(event) => setDragging(Number(event.target.value))}
          onPointerUp={release}
          onKeyUp={release}
          onBlur={release}
          className="min-w-48 flex-1 accent-violet-700"
        />
        <time dateTime={new Date(position).toISOString()} className="text-sm tabular-nums" data-testid="playback-position">
          {formatInstant(position, zone)}
        </time>
      </div>
      {playback.error ? (
        <p role="alert" className="text-sm text-red-700 dark:text-red-300">
          {playback.error}
        </p>
      ) : null}
    </section>
  );
}
