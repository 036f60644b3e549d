/** CSV export (RFC 4180) of the rows on screen. */

import type { DbEvent } from "./types";
import { plainText } from "./format";

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(events: readonly DbEvent[], fields: readonly string[]): string {
  const header = ["event_id", "timestamp", "entity", "event_type", ...fields];
  const lines = [header.map(csvField).join(",")];
  for (const event of events) {
    const cells = [String(event.id), event.timestamp, event.entity, event.event_type];
    for (const field of fields) cells.push(plainText(event.data[field]));
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
