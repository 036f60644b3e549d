/**
 * History mode's time range: presets, the custom from/to fields (in the page's
 * zone, local or UTC), and what retention means for a range.
 */

import type { TimeZoneMode } from "./format";

export type RangePreset = "15m" | "1h" | "24h";

export const RANGE_PRESETS: readonly { readonly id: RangePreset; readonly label: string; readonly ms: number }[] = [
  { id: "15m", label: "Last 15 min", ms: 15 * 60_000 },
  { id: "1h", label: "Last hour", ms: 60 * 60_000 },
  { id: "24h", label: "Last 24 h", ms: 24 * 60 * 60_000 },
];

/** A half-open range of moments [since, until), epoch ms. */
export interface TimeRange {
  readonly since: number;
  readonly until: number;
}

/** What the server keeps (GET /api/history). */
export interface Retention {
  /** Null when retention is off. */
  readonly retentionDays: number | null;
  /** The oldest and newest kept events' moments; null when nothing is kept. */
  readonly oldest: number | null;
  readonly newest: number | null;
}

/** A preset ending at the database's now (its clock writes the timestamps, not the browser's). */
export function presetRange(preset: RangePreset, databaseNow: number): TimeRange {
  const span = RANGE_PRESETS.find((item) => item.id === preset)?.ms ?? 0;
  return { since: databaseNow - span, until: databaseNow };
}

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

/** The value of an `<input type="datetime-local" step="1">` for a moment, in the page's zone. */
export function toInputValue(ms: number, zone: TimeZoneMode): string {
  const d = new Date(ms);
  const [year, month, day, hour, minute, second] =
    zone === "utc"
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
}

const INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/** A datetime-local value read in the page's zone, or null when it is not a real moment (Feb 30, empty). */
export function fromInputValue(text: string, zone: TimeZoneMode): number | null {
  const match = INPUT.exec(text.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second, fraction] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Math.round(fraction * 10 ** (3 - (match[7]?.length ?? 3)));
  const ms =
    zone === "utc"
      ? Date.UTC(year, month - 1, day, hour, minute, second, millis)
      : new Date(year, month - 1, day, hour, minute, second, millis).getTime();
  // Date rolls Feb 30 over to March: a value that does not read back is not a date.
  if (Number.isNaN(ms) || toInputValue(ms, zone).slice(0, 10) !== text.trim().slice(0, 10)) return null;
  return ms;
}

/** Why a custom range cannot be used, or null. */
export function rangeProblem(since: number | null, until: number | null): string | null {
  if (since === null) return "The start is not a valid date and time.";
  if (until === null) return "The end is not a valid date and time.";
  if (since >= until) return "The start must be before the end.";
  return null;
}

const dateTime: Record<TimeZoneMode, Intl.DateTimeFormat> = {
  local: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" }),
  utc: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" }),
};

/** A moment with its date, in the page's zone. */
export function formatInstant(ms: number, zone: TimeZoneMode): string {
  return dateTime[zone].format(new Date(ms)) + (zone === "utc" ? " UTC" : "");
}

export function formatRange(range: TimeRange, zone: TimeZoneMode): string {
  return `${formatInstant(range.since, zone)} – ${formatInstant(range.until, zone)}`;
}

export interface RetentionNote {
  /** "outside": nothing of the range is kept; "partly": its start is older than what is kept. */
  readonly kind: "outside" | "partly";
  readonly text: string;
}

/**
 * What to say instead of an empty page when a range reaches before the oldest
 * event kept. Null when the whole range is within what is kept (or nothing is
 * kept at all: then there is no older event to point to).
 */
export function retentionNote(range: TimeRange, retention: Retention, zone: TimeZoneMode): RetentionNote | null {
  const { oldest, retentionDays } = retention;
  if (oldest === null || range.since >= oldest) return null;
  const when = formatInstant(oldest, zone);
  const kept =
    retentionDays === null
      ? `The oldest event kept is from ${when}.`
      : `Events older than ${retentionDays} day${retentionDays === 1 ? " is" : "s are"} not kept; the oldest kept is from ${when}.`;
  if (range.until <= oldest) return { kind: "outside", text: `${kept} Nothing of this range is kept.` };
  return { kind: "partly", text: `${kept} This range starts before it.` };
}

/** What the picker says about retention, always shown. */
export function retentionSummary(retention: Retention): string {
  const { retentionDays } = retention;
  if (retentionDays === null) return "Events are kept until deleted (retention is off).";
  return `Events are kept ${retentionDays} day${retentionDays === 1 ? "" : "s"}.`;
}

/** The range narrowed to one histogram bucket (and never beyond the range it came from). */
export function bucketRange(start: number, bucketSeconds: number, within: TimeRange): TimeRange {
  return { since: Math.max(start, within.since), until: Math.min(start + bucketSeconds * 1000, within.until) };
}
