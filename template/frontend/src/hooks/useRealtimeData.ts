/** React's view of the realtime client (lib/realtimeClient.ts): one client per page, its state as React state. */

import { useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { type EventWatcher, RealtimeClient, type RealtimeSnapshot } from "../lib/realtimeClient";
import { EVERYTHING, subscriptionKey } from "../lib/protocol";
import type { EntityConfig, Subscription } from "../lib/types";

export { socketUrl } from "../lib/protocol";

export interface RealtimeOptions {
  readonly entities: readonly EntityConfig[];
  /** Origin of the backend, e.g. "http://127.0.0.1:8000"; defaults to the page's own. */
  readonly baseUrl?: string;
  /** Sent as a header on HTTP requests only, never in a URL; the WebSocket is authenticated by cookie. */
  readonly token?: string | null;
  /** Events loaded from /api/events when the page opens. */
  readonly historyLimit?: number;
  /** Events held while paused before the rest is fetched again on resume. */
  readonly maxPending?: number;
  readonly random?: () => number;
  /** Opens the socket; the browser's WebSocket unless a test runs outside a browser. */
  readonly openSocket?: (url: string) => WebSocket;
  /**
   * The entities and event types the page shows: only those are sent (the rest
   * is counted). A change reconnects from the resume point and backfills what
   * the page now shows, without a new client (lib/realtimeClient.ts).
   */
  readonly subscription?: Subscription;
}

export interface Realtime extends RealtimeSnapshot {
  readonly pause: () => void;
  readonly resume: () => void;
  /** Hear every event applied, and resets (lib/realtimeClient.ts); returns the unsubscribe function. */
  readonly watchEvents: (watcher: EventWatcher) => () => void;
  /** Subscribes to the server's alert state changes; returns the unsubscribe function. */
  readonly onAlert: RealtimeClient["onAlert"];
}

const browserSocket = (url: string): WebSocket => new WebSocket(url);

export function useRealtimeData(options: RealtimeOptions): Realtime {
  const { entities, token = null, historyLimit = 500, maxPending } = options;
  const baseUrl = options.baseUrl ?? window.location.origin;
  // Read through refs: a caller passing new functions on each render must not reconnect.
  const random = useRef(options.random ?? Math.random);
  random.current = options.random ?? Math.random;
  const openSocket = useRef(options.openSocket ?? browserSocket);
  openSocket.current = options.openSocket ?? browserSocket;
  const subscription = options.subscription ?? EVERYTHING;
  // A new client starts with the current subscription; later changes go through setSubscription.
  const latest = useRef(subscription);
  latest.current = subscription;
  const key = subscriptionKey(subscription);

  const client = useMemo(
    () =>
      new RealtimeClient({
        entities,
        baseUrl,
        token,
        historyLimit,
        maxPending,
        random: () => random.current(),
        openSocket: (url) => openSocket.current(url),
        subscription: latest.current,
      }),
    [entities, baseUrl, token, historyLimit, maxPending],
  );
  useEffect(() => {
    client.start();
    return client.stop;
  }, [client]);
  // Keyed by content: a new array of the same names is no change.
  useEffect(() => client.setSubscription(latest.current), [client, key]);
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot);
  return {
    ...snapshot,
    pause: client.pause,
    resume: client.resume,
    watchEvents: client.watchEvents,
    onAlert: client.onAlert,
  };
}
