import { useState } from "react";
import { type AlertBoard, type AlertRuleView, firingRules, formatValue, type Notifier } from "../lib/alerts";

const time = (iso: string) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
};

function Rule({ rule }: { rule: AlertRuleView }) {
  const firing = rule.state === "firing";
  return (
    <li data-testid={`alert-${rule.name}`} data-state={rule.state} className="flex flex-col gap-1 py-2">
      <div className="flex items-center gap-2">
        <span
          className={`rounded-full px-2 py-0.5 text-xs font-semibold ${
            firing
              ? "bg-rose-100 text-rose-800 dark:bg-rose-900/60 dark:text-rose-200"
              : "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200"
          }`}
        >
          {firing ? "firing" : "ok"}
        </span>
        <span className="font-medium">{rule.name}</span>
        <span className="ml-auto text-xs text-slate-500 dark:text-slate-400">since {time(rule.since)}</span>
      </div>
      <div className="text-xs text-slate-600 dark:text-slate-300">
        {rule.entity ? `${rule.entity}: ` : ""}
        <code>{rule.when}</code> · value {formatValue(rule.value)}
      </div>
      {rule.history.length > 0 ? (
        <details className="text-xs">
          <summary className="cursor-pointer text-slate-500 dark:text-slate-400">
            History ({rule.history.length})
          </summary>
          <ol data-testid={`alert-history-${rule.name}`} className="mt-1 flex flex-col gap-0.5">
            {[...rule.history].reverse().map((change) => (
              <li key={`${change.since}|${change.state}`}>
                {time(change.since)}: {change.state} (value {formatValue(change.value)})
              </li>
            ))}
          </ol>
        </details>
      ) : null}
    </li>
  );
}

/** The header's alert button: how many rules fire, and a panel with every rule, its history and notifications. */
export function AlertsMenu({ board, notifier }: { board: AlertBoard; notifier: Notifier }) {
  const [open, setOpen] = useState(false);
  const [permission, setPermission] = useState(() => notifier.permission());
  if (board.length === 0) return null; // dashboard.yaml has no alert rules
  const firing = firingRules(board);
  const ordered = [...firing, ...board.filter((rule) => rule.state !== "firing")];
  return (
    <span className="relative" data-testid="alerts">
      <button
        type="button"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        aria-controls="alerts-panel"
        data-testid="alerts-button"
        data-firing={firing.length}
        title={firing.map((rule) => rule.name).join(", ")}
        className={`rounded-full px-3 py-1 text-sm font-medium ${
          firing.length > 0
            ? "bg-rose-600 text-white"
            : "border border-slate-300 text-slate-700 dark:border-slate-700 dark:text-slate-200"
        }`}
      >
        {firing.length > 0 ? `🔔 ${firing.length} firing` : "🔕 Alerts ok"}
      </button>
      {open ? (
        <section
          id="alerts-panel"
          data-testid="alerts-panel"
          aria-label="Alerts"
          className="absolute left-0 z-20 mt-2 w-[min(28rem,90vw)] rounded border border-slate-200 bg-white p-3 shadow-lg dark:border-slate-700 dark:bg-slate-900"
        >
          <ul className="flex flex-col divide-y divide-slate-200 dark:divide-slate-700">
            {ordered.map((rule) => (
              <Rule key={rule.name} rule={rule} />
            ))}
          </ul>
          {notifier.supported && permission === "default" ? (
            <button
              type="button"
              onClick={() => void notifier.request().then(setPermission)}
              className="mt-2 rounded border border-slate-300 px-2 py-1 text-xs dark:border-slate-700"
            >
              Notify me in this browser when an alert fires
            </button>
          ) : null}
          {notifier.supported && permission === "denied" ? (
            <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">Browser notifications are blocked for this page.</p>
          ) : null}
        </section>
      ) : null}
    </span>
  );
}
