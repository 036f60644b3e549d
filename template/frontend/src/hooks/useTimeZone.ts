import { createContext } from "react";
import type { TimeZoneMode } from "../lib/format";
import { usePersistentState } from "./usePersistentState";

/** The zone the page shows instants in; read by every cell, so a toggle re-renders them all. */
export const TimeZoneContext = createContext<TimeZoneMode>("local");

/** UTC or the browser's zone, remembered like the other view settings. */
export function useTimeZone(): [TimeZoneMode, (zone: TimeZoneMode) => void] {
  return usePersistentState<TimeZoneMode>("dashboard.timeZone", "local");
}
