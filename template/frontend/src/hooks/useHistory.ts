/**
 * History mode's state: the range chosen (a preset resolved against the
 * database's clock, or custom), what is kept, the page of events shown with its
 * cursors, and the histogram. Fetches only while History mode is shown; every
 * request of a superseded range, filter or page is aborted.
 */

import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../lib/api";
import {
  fetchHistogram,
  fetchHistoryInfo,
  fetchPage,
  type Histogram,
  type HistoryFilter,
  type HistoryInfo,
  type HistoryPage,
} from "../lib/history";
import { presetRange, type RangePreset, type TimeRange } from "../lib/timeRange";

export type RangeChoice = { readonly kind: "preset"; readonly preset: RangePreset } | { readonly kind: "custom"; readonly range: TimeRange };

export const PAGE_SIZES = [50, 100, 500, 1000] as const;
export type PageSize = (typeof PAGE_SIZES)[number];

export interface HistoryView {
  readonly choice: RangeChoice;
  /** The range shown: null until a preset is resolved against the database's clock. */
  readonly range: TimeRange | null;
  readonly info: HistoryInfo | null;
  /** The page shown, newest first; null while the first one loads. */
  readonly page: HistoryPage | null;
  /** 0 for the newest page of the range, 1 for the one before it… */
  readonly pageIndex: number;
  readonly loading: boolean;
  readonly error: string | null;
  readonly histogram: Histogram | null;
  readonly histogramError: string | null;
  readonly choose: (choice: RangeChoice) => void;
  /** Resolves a preset again against the database's now. */
  readonly refresh: () => void;
  readonly older: () => void;
  readonly newer: () => void;
  readonly newest: () => void;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const aborted = (error: unknown): boolean => error instanceof DOMException && error.name === "AbortError";

/** A page newest first, whichever way its cursor travelled. */
function newestFirst(page: HistoryPage): HistoryPage {
  return page.order === "asc" ? { ...page, events: [...page.events].reverse() } : page;
}

export function useHistory(options: {
  readonly api: Api;
  readonly active: boolean;
  readonly filter: HistoryFilter;
  readonly pageSize: number;
}): HistoryView {
  const { api, active, filter, pageSize } = options;
  const [choice, setChoice] = useState<RangeChoice>({ kind: "preset", preset: "1h" });
  const [resolved, setResolved] = useState<{ choice: RangeChoice; range: TimeRange } | null>(null);
  const [info, setInfo] = useState<HistoryInfo | null>(null);
  const [page, setPage] = useState<HistoryPage | null>(null);
  const [pageIndex, setPageIndex] = useState(0);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [histogram, setHistogram] = useState<Histogram | null>(null);
  const [histogramError, setHistogramError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  const pageRequest = useRef<AbortController | null>(null);

  // The filter object is new on each render of the caller: compare by value.
  const filterKey = JSON.stringify(filter);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  // Resolve the range (and learn what is kept) on entering History mode, on a new choice, on refresh.
  useEffect(() => {
    if (!active) return;
    const abort = new AbortController();
    fetchHistoryInfo(api, abort.signal).then(
      (kept) => {
        setInfo(kept);
        setResolved({
          choice,
          range: choice.kind === "custom" ? choice.range : presetRange(choice.preset, kept.databaseTime),
        });
      },
      (problem: unknown) => {
        if (aborted(problem)) return;
        setError(message(problem));
        // A custom range does not need the database's clock: show it even so.
        if (choice.kind === "custom") setResolved({ choice, range: choice.range });
      },
    );
    return () => abort.abort();
  }, [api, active, choice, generation]);

  const range = resolved !== null && resolved.choice === choice ? resolved.range : null;

  const load = useCallback(
    (request: { cursor: string | null; index: number }) => {
      if (range === null) return;
      pageRequest.current?.abort();
      const abort = new AbortController();
      pageRequest.current = abort;
      setLoading(true);
      setError(null);
      fetchPage(api, range, filterRef.current, { limit: pageSize, order: "desc", cursor: request.cursor }, abort.signal).then(
        (answer) => {
          if (abort.signal.aborted) return;
          // Travelling newer, a short page is the newest end: show the full newest page instead.
          if (answer.order === "asc" && answer.newer === null && request.cursor !== null && answer.events.length < pageSize) {
            load({ cursor: null, index: 0 });
            return;
          }
          setPage(newestFirst(answer));
          setPageIndex(request.index);
          setLoading(false);
        },
        (problem: unknown) => {
          if (aborted(problem)) return;
          setError(message(problem));
          setLoading(false);
        },
      );
    },
    [api, range, pageSize],
  );

  // The first page: whenever the range, the filters or the page size change.
  useEffect(() => {
    if (!active || range === null) return;
    setPage(null);
    load({ cursor: null, index: 0 });
    return () => pageRequest.current?.abort();
  }, [active, range, filterKey, load]);

  // The histogram: the range and the entity and type filters (it does not search text).
  const histogramKey = JSON.stringify([filter.entities, filter.eventTypes]);
  useEffect(() => {
    if (!active || range === null) return;
    const abort = new AbortController();
    setHistogramError(null);
    fetchHistogram(api, range, filterRef.current, abort.signal).then(setHistogram, (problem: unknown) => {
      if (!aborted(problem)) setHistogramError(message(problem));
    });
    return () => abort.abort();
  }, [api, active, range, histogramKey]);

  const choose = useCallback((next: RangeChoice) => {
    setHistogram(null);
    setChoice(next);
  }, []);

  return {
    choice,
    range,
    info,
    page,
    pageIndex,
    loading,
    error,
    histogram,
    histogramError,
    choose,
    refresh: () => setGeneration((value) => value + 1),
    older: () => {
      if (page?.older) load({ cursor: page.older, index: pageIndex + 1 });
    },
    newer: () => {
      if (page?.newer && pageIndex > 0) load({ cursor: page.newer, index: pageIndex - 1 });
    },
    newest: () => load({ cursor: null, index: 0 }),
  };
}
