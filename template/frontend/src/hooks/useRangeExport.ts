/**
 * CSV export in History mode: the whole range (page by page, up to EXPORT_MAX
 * events), not only the page on screen.
 */

import { useCallback, useState } from "react";
import type { Api } from "../lib/api";
import { downloadCsv, toCsv } from "../lib/csv";
import { fetchRange, type HistoryFilter } from "../lib/history";
import type { TimeRange } from "../lib/timeRange";

/** The most events one export holds in memory. */
export const EXPORT_MAX = 100_000;
const number = new Intl.NumberFormat();

const stamp = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replaceAll(":", "");

export function useRangeExport(api: Api): {
  readonly status: string | null;
  readonly exportRange: (title: string, range: TimeRange, filter: HistoryFilter, fields: readonly string[]) => void;
} {
  const [status, setStatus] = useState<string | null>(null);
  const exportRange = useCallback(
    (title: string, range: TimeRange, filter: HistoryFilter, fields: readonly string[]) => {
      setStatus(`Exporting ${title}…`);
      fetchRange(api, range, filter, EXPORT_MAX).then(
        ({ events, truncated }) => {
          const name = title.toLowerCase().replaceAll(/[^a-z0-9]+/g, "-").replaceAll(/^-|-$/g, "");
          downloadCsv(`${name}-${stamp(range.since)}-${stamp(range.until)}.csv`, toCsv(events, fields));
          const count = `${number.format(events.length)} event${events.length === 1 ? "" : "s"}`;
          setStatus(
            truncated
              ? `Exported ${title}: the newest ${count} of the range (at most ${number.format(EXPORT_MAX)} per file).`
              : `Exported ${title}: ${count}.`,
          );
        },
        (problem: unknown) => setStatus(`Export of ${title} failed: ${problem instanceof Error ? problem.message : String(problem)}`),
      );
    },
    [api],
  );
  return { status, exportRange };
}
