import { useEffect, useState } from "react";
import type { Api } from "../lib/api";

export interface ServerEntityStats {
  total_rows: number | null;
  rows_estimated: boolean;
}

/** Row totals from /api/stats, refreshed every few seconds (the backend counts in the background). */
export function useServerStats(api: Api, intervalMs = 5000): Record<string, ServerEntityStats> {
  const [stats, setStats] = useState<Record<string, ServerEntityStats>>({});
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const body = (await api.getJson("/api/stats")) as { entities: Record<string, ServerEntityStats> };
        if (!stopped) setStats(body.entities);
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
