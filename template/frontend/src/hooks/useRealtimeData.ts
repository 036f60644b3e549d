/**
 * The live data of the dashboard: one WebSocket to the backend, with reconnect
 * (exponential backoff and jitter) and resume from the last safe point, so
 * nothing is lost across reconnects and backend restarts.
 *
 * Events are de-duplicated by id, buffered, and applied once per animation
 * frame (not per message): at thousands of events per second React renders at
 * most once a frame.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { backoffDelay } from "../lib/backoff";
import { IdWindow } from "../lib/ids";
import { applyEvents, type DashboardData, emptyData, tick } from "../lib/store";
import type { ConnectionStatus, DbEvent, EntityConfig, ServerMessage } from "../lib/types";

export interface RealtimeOptions {
  readonly entities: readonly EntityConfig[];
  /** Origin of the backend, e.g. "http://127.0.0.1:8000"; defaults to the page's own. */
  readonly baseUrl?: string;
  readonly token?: string | null;
  /** Events loaded from /api/events when the page opens. */
  readonly historyLimit?: number;
  readonly random?: () => number;
  /** Opens the socket; the browser's WebSocket unless a test runs outside a browser. */
  readonly openSocket?: (url: string) => WebSocket;
}

const CLOSING = 2; // WebSocket.CLOSING, without needing the global in tests

export interface Realtime {
  readonly status: ConnectionStatus;
  readonly data: DashboardData;
  readonly paused: boolean;
  /** Events received while paused, applied on resume. */
  readonly pending: number;
  readonly pause: () => void;
  readonly resume: () => void;
}

type Batch = { events: DbEvent[]; counted: boolean };

const nextFrame = (callback: () => void): void => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => callback());
  else setTimeout(callback, 16);
};

const defaultOpenSocket = (url: string): WebSocket => new WebSocket(url);

export function socketUrl(baseUrl: string, after: number | null, token: string | null | undefined): string {
  const url = new URL("/ws", baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", String(after));
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

export function useRealtimeData(options: RealtimeOptions): Realtime {
  const { entities, token = null, historyLimit = 500 } = options;
  const baseUrl = options.baseUrl ?? window.location.origin;
  // Read through refs: a caller passing new functions on each render must not reconnect.
  const random = useRef(options.random ?? Math.random);
  random.current = options.random ?? Math.random;
  const openSocket = useRef(options.openSocket ?? defaultOpenSocket);
  openSocket.current = options.openSocket ?? defaultOpenSocket;
  /** The id below which nothing is outstanding: where a reconnect resumes. Survives re-renders. */
  const resumeAfter = useRef<number | null>(null);

  const [status, setStatus] = useState<ConnectionStatus>({ state: "connecting" });
  const [data, setData] = useState<DashboardData>(() => emptyData(entities));
  const [paused, setPaused] = useState(false);
  const [pending, setPending] = useState(0);

  const dataRef = useRef(data);
  const incoming = useRef<Batch[]>([]);
  const held = useRef<DbEvent[]>([]);
  const seen = useRef(new IdWindow());
  const pausedRef = useRef(false);
  const frameScheduled = useRef(false);

  const flush = useCallback(() => {
    frameScheduled.current = false;
    let next = dataRef.current;
    const now = Date.now();
    for (const batch of incoming.current) next = applyEvents(next, batch.events, entities, now, batch.counted);
    incoming.current = [];
    next = tick(next, now);
    if (next !== dataRef.current) {
      dataRef.current = next;
      setData(next);
    }
    setPending(held.current.length);
  }, [entities]);

  const schedule = useCallback(() => {
    if (frameScheduled.current) return;
    frameScheduled.current = true;
    nextFrame(flush);
  }, [flush]);

  const receive = useCallback(
    (events: readonly DbEvent[], counted: boolean) => {
      const fresh = events.filter((event) => seen.current.add(event.id));
      if (fresh.length === 0) return;
      if (pausedRef.current && counted) held.current.push(...fresh);
      else incoming.current.push({ events: fresh, counted });
      schedule();
    },
    [schedule],
  );

  const clearAll = useCallback(() => {
    seen.current.clear();
    held.current = [];
    incoming.current = [];
    dataRef.current = emptyData(entities);
    setData(dataRef.current);
    setPending(0);
  }, [entities]);

  useEffect(() => {
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

    const loadHistory = async (lastEventId: number) => {
      if (lastEventId <= 0 || historyLimit <= 0) return;
      try {
        const response = await fetch(
          new URL(`/api/events?before=${lastEventId + 1}&limit=${historyLimit}`, baseUrl),
          { headers },
        );
        if (!response.ok) return;
        const body = (await response.json()) as { events: DbEvent[] };
        if (!stopped) receive(body.events, false);
      } catch {
        // History is a convenience: the live stream goes on without it.
      }
    };

    const handle = (message: ServerMessage) => {
      switch (message.type) {
        case "hello":
          attempt = 0;
          setStatus({ state: "live" });
          if (resumeAfter.current === null) {
            resumeAfter.current = message.resume_after;
            void loadHistory(message.last_event_id);
          }
          break;
        case "events":
          receive(message.events, true);
          resumeAfter.current = message.resume_after;
          break;
        case "heartbeat":
          resumeAfter.current = message.resume_after;
          break;
        case "reset":
          // What we hold may be gone from the server: start over from the current state.
          clearAll();
          resumeAfter.current = null;
          socket?.close();
          break;
        case "pong":
        case "error":
          break;
      }
    };

    const connect = () => {
      if (stopped) return;
      if (typeof navigator !== "undefined" && navigator.onLine === false) {
        setStatus({ state: "offline" });
        return;
      }
      const current = openSocket.current(socketUrl(baseUrl, resumeAfter.current, token));
      socket = current;
      current.onmessage = (event: MessageEvent<string>) => {
        try {
          handle(JSON.parse(event.data) as ServerMessage);
        } catch {
          // A frame we cannot read is skipped, never fatal.
        }
      };
      current.onerror = () => {
        // A close event follows: the reconnect is scheduled there.
      };
      current.onclose = () => {
        if (stopped || socket !== current) return;
        const delay = backoffDelay(attempt, random.current);
        attempt += 1;
        setStatus({ state: "reconnecting", attempt, retryAt: Date.now() + delay });
        timer = setTimeout(connect, delay);
      };
    };

    const goOffline = () => {
      clearTimeout(timer);
      setStatus({ state: "offline" });
    };
    const goOnline = () => {
      clearTimeout(timer);
      if (socket === null || socket.readyState >= CLOSING) connect();
    };
    window.addEventListener("offline", goOffline);
    window.addEventListener("online", goOnline);
    connect();
    const clock = setInterval(schedule, 1000); // rates and "last event" age move on when idle
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(clock);
      window.removeEventListener("offline", goOffline);
      window.removeEventListener("online", goOnline);
      socket?.close();
    };
  }, [baseUrl, token, historyLimit, receive, clearAll, schedule]);

  const pause = useCallback(() => {
    pausedRef.current = true;
    setPaused(true);
  }, []);

  const resume = useCallback(() => {
    pausedRef.current = false;
    setPaused(false);
    if (held.current.length > 0) {
      incoming.current.push({ events: held.current, counted: true });
      held.current = [];
      schedule();
    }
  }, [schedule]);

  return { status, data, paused, pending, pause, resume };
}
