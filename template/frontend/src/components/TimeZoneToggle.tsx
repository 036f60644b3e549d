import type { TimeZoneMode } from "../lib/format";
import { zoneName } from "../lib/format";

/** Which zone the page shows times in, and the switch between the browser's zone and UTC. */
export function TimeZoneToggle({ zone, onZone }: { zone: TimeZoneMode; onZone: (zone: TimeZoneMode) => void }) {
  return (
    <span className="inline-flex items-center gap-2 text-sm text-slate-600 dark:text-slate-300">
      <span data-testid="time-zone" title="Datetimes stored without a time zone are shown as stored">
        Times in {zoneName(zone)}
      </span>
      <span role="group" aria-label="Time zone" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
        {(["local", "utc"] as const).map((option) => (
          <button
            key={option}
            type="button"
            aria-pressed={zone === option}
            onClick={() => onZone(option)}
            className={`px-2 py-0.5 text-xs ${zone === option ? "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900" : ""}`}
          >
            {option === "local" ? "Local" : "UTC"}
          </button>
        ))}
      </span>
    </span>
  );
}
