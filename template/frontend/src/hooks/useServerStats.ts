import { useEffect, useState } from "react";
import type { Api } from "../lib/api";

export interface ServerEntityStats {
  total_rows: number | null;
  rows_estimated: boolean;
  /** Events the backend has seen since it started (absent from older backends). */
  inserts?: number;
  updates?: number;
  deletes?: number;
}

export interface ServerStats {
  readonly entities: Record<string, ServerEntityStats>;
  /** When the backend started (epoch seconds): the counts are since then. */
  readonly since: number | null;
}

const NONE: ServerStats = { entities: {}, since: null };

/** Row totals and counts from /api/stats, refreshed every few seconds (the backend counts in the background). */
export function useServerStats(api: Api, intervalMs = 5000): ServerStats {
  const [stats, setStats] = useState<ServerStats>(NONE);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const body = (await api.getJson("/api/stats")) as { entities: Record<string, ServerEntityStats>; since?: number };
        if (!stopped) setStats({ entities: body.entities, since: typeof body.since === "number" ? body.since : null });
      } catch {
        // The connection status already tells the user the backend is away; a 401 goes to the login.
      }
    };
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, intervalMs]);
  return stats;
}
