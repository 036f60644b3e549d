/** Display of a column value according to its type and name. */

import type { ColumnConfig, JsonValue } from "./types";

const MONEY = /(price|amount|balance|total|cost)/i;
const LONG_TEXT = 40;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export type Formatted =
  | { kind: "null" }
  | { kind: "text"; text: string; full?: string }
  | { kind: "number"; text: string }
  | { kind: "boolean"; value: boolean }
  | { kind: "json"; short: string; full: string };

/** Which zone the page shows instants in: the browser's or UTC (remembered per browser). */
export type TimeZoneMode = "local" | "utc";

/** An ISO datetime that names its zone ("Z" or an offset); without one it is a wall-clock time as stored. */
const HAS_ZONE = /(?:[zZ]|[+-]\d{2}:?\d{2})$/;

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// Built once: toLocaleString() with options builds a formatter on every call, and a
// table formats a date per cell per row drawn. The options are toLocaleString()'s own.
const DATE_PARTS = { year: "numeric", month: "numeric", day: "numeric" } as const;
const TIME_PARTS = { hour: "numeric", minute: "numeric", second: "numeric" } as const;
const dateFormat = new Intl.DateTimeFormat(undefined, DATE_PARTS);
const dateTimeFormat: Record<TimeZoneMode, Intl.DateTimeFormat> = {
  local: new Intl.DateTimeFormat(undefined, { ...DATE_PARTS, ...TIME_PARTS }),
  utc: new Intl.DateTimeFormat(undefined, { ...DATE_PARTS, ...TIME_PARTS, timeZone: "UTC" }),
};

export function isMoney(columnName: string): boolean {
  return MONEY.test(columnName);
}

export function shorten(text: string, limit = LONG_TEXT): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** Dates stay calendar dates (no time zone shift); datetimes are shown in local time. */
export function formatDate(value: string): string {
  if (DATE_ONLY.test(value)) {
    const [year, month, day] = value.split("-").map(Number);
    return dateFormat.format(new Date(year ?? 0, (month ?? 1) - 1, day ?? 1));
  }
  return value;
}

/**
 * An instant (with a zone) in the page's zone; a datetime stored without a zone
 * as stored (its own zone, which the page cannot know: shifting it would lie).
 */
export function formatDateTime(value: string, zone: TimeZoneMode = "local"): string {
  if (!HAS_ZONE.test(value)) return value.replace("T", " ");
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return value;
  return dateTimeFormat[zone].format(moment);
}

const clock: Record<TimeZoneMode, Intl.DateTimeFormat> = {
  local: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  utc: new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: "UTC" }),
};

/** The time of day of an instant (an event's timestamp), in the page's zone. */
export function formatClock(instant: string | number, zone: TimeZoneMode): string {
  const moment = new Date(instant);
  return Number.isNaN(moment.getTime()) ? String(instant) : clock[zone].format(moment);
}

let knownZone: string | undefined;

/** The browser's zone name, read once (building an Intl.DateTimeFormat costs about a millisecond). */
function browserZone(): string {
  knownZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  return knownZone;
}

/** The zone the page shows times in, for its header: "UTC" or the browser's zone name. */
export function zoneName(zone: TimeZoneMode): string {
  if (zone === "utc") return "UTC";
  const name = browserZone();
  // "local time (UTC)" on a machine set to UTC: clear about which switch is on.
  return name ? `local time (${name})` : "local time";
}

export function formatValue(
  value: JsonValue | undefined,
  column: Pick<ColumnConfig, "name" | "type">,
  zone: TimeZoneMode = "local",
): Formatted {
  if (value === null || value === undefined) return { kind: "null" };
  switch (column.type) {
    case "integer":
      return typeof value === "number" ? { kind: "number", text: numberFormat.format(value) } : text(value);
    case "float":
      if (typeof value !== "number") return text(value);
      return { kind: "number", text: (isMoney(column.name) ? moneyFormat : numberFormat).format(value) };
    case "boolean":
      return typeof value === "boolean" ? { kind: "boolean", value } : text(value);
    case "date":
      return typeof value === "string" ? { kind: "text", text: formatDate(value) } : text(value);
    case "datetime":
      return typeof value === "string" ? { kind: "text", text: formatDateTime(value, zone) } : text(value);
    case "json": {
      const full = JSON.stringify(value, null, 2);
      return { kind: "json", short: shorten(JSON.stringify(value), 40), full };
    }
    case "string":
      if (typeof value === "number" && isMoney(column.name)) return { kind: "number", text: moneyFormat.format(value) };
      return text(value);
  }
}

/** A value as one line of text formatted like its cell ("was: …" of a changed cell, search). */
export function formattedText(
  value: JsonValue | undefined,
  column: Pick<ColumnConfig, "name" | "type">,
  zone: TimeZoneMode = "local",
): string {
  const formatted = formatValue(value, column, zone);
  switch (formatted.kind) {
    case "null":
      return "NULL";
    case "number":
      return formatted.text;
    case "boolean":
      return String(formatted.value);
    case "json":
      return formatted.short;
    case "text":
      return formatted.full ?? formatted.text;
  }
}

function text(value: JsonValue): Formatted {
  const raw = typeof value === "string" ? value : JSON.stringify(value);
  return raw.length > LONG_TEXT ? { kind: "text", text: shorten(raw), full: raw } : { kind: "text", text: raw };
}

/**
 * The value of column `name` in a row. Own properties only: a row parsed from JSON
 * still inherits from Object.prototype, so `row["constructor"]` of a row without
 * that column would be a function, not "no value".
 */
export function fieldValue(row: Readonly<Record<string, JsonValue>>, name: string): JsonValue | undefined {
  return Object.hasOwn(row, name) ? row[name] : undefined;
}

/** The plain text of a value, for search and CSV (no locale formatting, nothing shortened). */
export function plainText(value: JsonValue | undefined): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
