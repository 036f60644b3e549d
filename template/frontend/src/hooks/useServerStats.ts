import { useEffect, useState } from "react";

export interface ServerEntityStats {
  total_rows: number | null;
  rows_estimated: boolean;
}

/** Row totals from /api/stats, refreshed every few seconds (the backend counts in the background). */
export function useServerStats(
  baseUrl: string,
  token: string | null,
  intervalMs = 5000,
): Record<string, ServerEntityStats> {
  const [stats, setStats] = useState<Record<string, ServerEntityStats>>({});
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const response = await fetch(new URL("/api/stats", baseUrl), {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        });
        if (response.ok && !stopped) {
          const body = (await response.json()) as { entities: Record<string, ServerEntityStats> };
          setStats(body.entities);
        }
      } catch {
        // The connection status already tells the user the backend is away.
      }
    };
    void load();
    const timer = setInterval(() => void load(), intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [baseUrl, token, intervalMs]);
  return stats;
}
