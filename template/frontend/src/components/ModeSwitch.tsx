/** Live, History, and (while a range is replayed) Playback: which data the views show. */

export type Mode = "live" | "history" | "playback";

export function ModeSwitch({ mode, onMode }: { mode: Mode; onMode: (mode: "live" | "history") => void }) {
  const options: readonly Mode[] = mode === "playback" ? ["live", "history", "playback"] : ["live", "history"];
  return (
    <span role="group" aria-label="Mode" data-testid="mode-switch" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
      {options.map((option) => (
        <button
          key={option}
          type="button"
          aria-pressed={mode === option}
          // Playback is started from History; its button only shows that it is on.
          onClick={option === "playback" ? undefined : () => onMode(option)}
          className={`px-3 py-1 text-sm font-medium ${
            mode === option ? (option === "playback" ? "bg-violet-700 text-white" : "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900") : ""
          }`}
        >
          {option === "live" ? "● Live" : option === "history" ? "History" : "▶ Playback"}
        </button>
      ))}
    </span>
  );
}
