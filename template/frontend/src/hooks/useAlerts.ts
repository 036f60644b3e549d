import { useEffect, useMemo, useRef, useState } from "react";
import { type AlertBoard, applyAlert, browserNotifier, mergeServer, type Notifier, notificationFor, parseAlertList } from "../lib/alerts";
import type { Api } from "../lib/api";
import type { AlertStatus } from "../lib/types";

/** Alert states: loaded from /api/alerts (again every `refreshMs`, for changes missed while disconnected),
 * kept current by the WebSocket's `alert` messages; a rule that starts firing shows a browser notification. */
export function useAlerts(
  api: Api,
  onAlert: (listener: (alert: AlertStatus) => void) => () => void,
  options: { refreshMs?: number; notifier?: Notifier } = {},
): { board: AlertBoard; notifier: Notifier } {
  const { refreshMs = 30_000 } = options;
  const notifier = useMemo(() => options.notifier ?? browserNotifier(), [options.notifier]);
  const [board, setBoard] = useState<AlertBoard>([]);
  const boardRef = useRef(board);
  boardRef.current = board;

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const fresh = parseAlertList(await api.getJson("/api/alerts"));
        if (!stopped) setBoard((current) => mergeServer(current, fresh));
      } catch {
        // The connection status already says when the backend is away; a 401 goes to the login.
      }
    };
    void load();
    const timer = setInterval(() => void load(), refreshMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, refreshMs]);

  useEffect(
    () =>
      onAlert((alert) => {
        const { board: next, changed } = applyAlert(boardRef.current, alert);
        if (!changed) return;
        boardRef.current = next;
        setBoard(next);
        if (alert.state === "firing") {
          const { title, body } = notificationFor(alert);
          notifier.show(title, body);
        }
      }),
    [onAlert, notifier],
  );
  return { board, notifier };
}
