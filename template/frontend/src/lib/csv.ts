/** CSV export (RFC 4180) of the rows on screen, safe to open in a spreadsheet. */

import type { DbEvent, JsonValue } from "./types";
import { fieldValue, plainText } from "./format";

// OWASP "CSV Injection": a spreadsheet runs a cell starting with one of these as a
// formula (`=cmd|' /C calc'!A0`, `+1+1`, `-2+3`, `@SUM(...)`; tab and CR too).
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 quoting: only what needs it, quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Text that a spreadsheet would run as a formula gets a leading `'`, which makes it plain text. */
export function defuseFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/**
 * One value as cell text. JSON numbers (numeric columns) are written as they are, so
 * -5 stays the number -5: their text is digits, sign, point and exponent only and
 * cannot form a formula. Everything else is text from the database, and text that
 * merely looks like a number ("-5" in a string column) is defused like any other.
 */
export function cellText(value: JsonValue | undefined): string {
  return typeof value === "number" ? String(value) : defuseFormula(plainText(value));
}

export function toCsv(events: readonly DbEvent[], fields: readonly string[]): string {
  const header = ["event_id", "timestamp", "entity", "event_type", ...fields];
  const lines = [header.map(csvField).join(",")];
  for (const event of events) {
    const cells = [cellText(event.id), cellText(event.timestamp), cellText(event.entity), cellText(event.event_type)];
    for (const field of fields) cells.push(cellText(fieldValue(event.data, field)));
    lines.push(cells.map(csvField).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function downloadCsv(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}
