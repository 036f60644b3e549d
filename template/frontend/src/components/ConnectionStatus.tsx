import { useEffect, useState } from "react";
import type { ConnectionStatus as Status } from "../lib/types";

const STYLES: Record<Status["state"], string> = {
  live: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200",
  connecting: "bg-sky-100 text-sky-800 dark:bg-sky-900/60 dark:text-sky-200",
  starting: "bg-violet-100 text-violet-800 dark:bg-violet-900/60 dark:text-violet-200",
  reconnecting: "bg-amber-100 text-amber-900 dark:bg-amber-900/60 dark:text-amber-100",
  offline: "bg-rose-100 text-rose-800 dark:bg-rose-900/60 dark:text-rose-200",
};

export function describeStatus(status: Status, nowMs: number): string {
  switch (status.state) {
    case "live":
      return "Live";
    case "connecting":
      return "Connecting…";
    case "starting":
      // Connected: the server waits for the database; what is shown stays.
      return `Server starting: ${status.message}`;
    case "offline":
      return "Offline";
    case "reconnecting": {
      const seconds = Math.max(0, Math.ceil((status.retryAt - nowMs) / 1000));
      const when = seconds > 0 ? `Reconnecting in ${seconds} s (try ${status.attempt})` : `Reconnecting (try ${status.attempt})…`;
      return status.reason ? `${when}: ${status.reason}` : when;
    }
  }
}

export function ConnectionStatus({ status }: { status: Status }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status.state !== "reconnecting") return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [status]);
  return (
    <span
      role="status"
      aria-live="polite"
      data-testid="connection-status"
      data-state={status.state}
      className={`inline-flex items-center gap-2 rounded-full px-3 py-1 text-sm font-medium ${STYLES[status.state]}`}
    >
      <span
        aria-hidden="true"
        className={`h-2 w-2 rounded-full bg-current ${status.state === "live" ? "animate-pulse" : ""}`}
      />
      {describeStatus(status, now)}
    </span>
  );
}
