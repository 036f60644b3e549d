/** An entity's current rows: the snapshot from /api/rows, then the stream's events applied (lib/currentRows.ts). */

import { useEffect, useState } from "react";
import { type Api, SignedOut } from "../lib/api";
import {
  applyRowEvents,
  type CurrentRows,
  DELETED_VISIBLE_MS,
  fromSnapshot,
  parseRowsPage,
  pruneDeleted,
  rowsPath,
} from "../lib/currentRows";
import type { EventWatcher } from "../lib/realtimeClient";
import type { DbEvent, EntityConfig } from "../lib/types";

/** Events of the entity kept while the snapshot loads; past this the load starts over. */
const MAX_BUFFERED = 50_000;
const RETRY_MS = 2000;
/**
 * Events are applied to the rows at most this often. Each application is a pass over
 * every row held (10,000 per entity) whatever the batch's size, and the table draws
 * them 4 times a second at most (hooks/usePaced.ts): one pass per poll of the server
 * (10 a second per entity) was most of the view's script and garbage.
 */
const APPLY_MS = 200;

export type CurrentRowsView =
  | { readonly state: "loading" }
  | { readonly state: "error"; readonly message: string }
  | { readonly state: "ready"; readonly rows: CurrentRows };

async function readSnapshot(api: Api, entity: EntityConfig) {
  const response = await api.fetch(rowsPath(entity.name, entity.maxRecords), { headers: { Accept: "application/json" } });
  const body = (await response.json().catch(() => null)) as unknown;
  if (!response.ok) {
    const detail = typeof body === "object" && body !== null && "detail" in body ? String(body.detail) : "";
    throw new Error(detail || `HTTP ${response.status}`);
  }
  const snapshot = parseRowsPage(body);
  if (snapshot === null) throw new Error("the answer is not a page of rows");
  return snapshot;
}

export function useCurrentRows(
  api: Api,
  entity: EntityConfig,
  watchEvents: (watcher: EventWatcher) => () => void,
): CurrentRowsView {
  const [view, setView] = useState<CurrentRowsView>({ state: "loading" });

  useEffect(() => {
    let active = true;
    let generation = 0;
    let rows: CurrentRows | null = null;
    // Events that arrive while the snapshot loads: applied (those it does not reflect) once it is here.
    let buffered: DbEvent[] = [];
    // Events not yet applied (see applyArrived).
    let arrived: DbEvent[] = [];
    let retry: ReturnType<typeof setTimeout> | undefined;
    let applyTimer: ReturnType<typeof setTimeout> | undefined;

    const show = () => {
      if (active && rows !== null) setView({ state: "ready", rows });
    };
    const load = async () => {
      generation += 1;
      const mine = generation;
      clearTimeout(retry);
      rows = null;
      buffered = [];
      arrived = [];
      setView({ state: "loading" });
      try {
        const snapshot = await readSnapshot(api, entity);
        if (!active || mine !== generation) return;
        rows = applyRowEvents(fromSnapshot(snapshot, entity.maxRecords), buffered, Date.now());
        buffered = [];
        show();
      } catch (error) {
        if (!active || mine !== generation || error instanceof SignedOut) return;
        setView({ state: "error", message: error instanceof Error ? error.message : String(error) });
        retry = setTimeout(() => void load(), RETRY_MS);
      }
    };
    // Watching starts before the snapshot is asked for: every event it does not reflect
    // commits after it was read, so reaches the page after this point.
    // The batches of APPLY_MS are applied together: one pass over the rows held, not one per batch.
    const applyArrived = () => {
      applyTimer = undefined;
      const own = arrived;
      arrived = [];
      if (!active || rows === null || own.length === 0) return;
      rows = applyRowEvents(rows, own, Date.now());
      show();
    };
    const unwatch = watchEvents({
      events: (events) => {
        const own = events.filter((event) => event.entity === entity.name);
        if (own.length === 0) return;
        if (rows === null) {
          buffered.push(...own);
          if (buffered.length > MAX_BUFFERED) void load();
          return;
        }
        if (applyTimer === undefined) applyTimer = setTimeout(applyArrived, APPLY_MS);
        arrived.push(...own);
      },
      reset: () => void load(),
    });
    void load();
    const prune = setInterval(() => {
      if (rows === null) return;
      const next = pruneDeleted(rows, Date.now());
      if (next !== rows) {
        rows = next;
        show();
      }
    }, DELETED_VISIBLE_MS / 3);
    return () => {
      active = false;
      unwatch();
      clearTimeout(retry);
      clearTimeout(applyTimer);
      clearInterval(prune);
    };
  }, [api, entity, watchEvents]);

  return view;
}
