/**
 * One row in full: every column formatted by type, and when it comes from an
 * event, the event's id, type and time and (updates) old -> new per changed
 * column. A modal <dialog>: Escape closes it, focus returns to what opened it.
 * Takes a row and an optional event, so any view can open it.
 */
import { useContext, useEffect, useId, useRef, useState } from "react";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { fieldValue, formatDateTime, zoneName } from "../lib/format";
import type { ColumnConfig, DbEvent, EntityConfig, JsonValue } from "../lib/types";
import { Cell } from "./Cell";
import { EntityBadge, EventBadge } from "./EventBadge";

export interface RowDetailProps {
  readonly entity: EntityConfig;
  readonly row: Readonly<Record<string, JsonValue>>;
  readonly event?: DbEvent;
  readonly onClose: () => void;
}

/** The entity's columns, then any field the row has that the model does not know (shown as text). */
function detailColumns(entity: EntityConfig, row: Readonly<Record<string, JsonValue>>): readonly ColumnConfig[] {
  const known = new Set(entity.columns.map((column) => column.name));
  const extra = Object.keys(row)
    .filter((name) => !known.has(name))
    .map((name): ColumnConfig => ({ name, type: "string", nullable: true, primaryKey: false, length: null, doc: "" }));
  return [...entity.columns, ...extra];
}

/** What "copy as JSON" copies: the event as received, or the row alone. */
export function detailJson(entity: EntityConfig, row: Readonly<Record<string, JsonValue>>, event?: DbEvent): string {
  return JSON.stringify(event ?? { entity: entity.name, data: row }, null, 2);
}

export function RowDetail({ entity, row, event, onClose }: RowDetailProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const zone = useContext(TimeZoneContext);
  const [copyStatus, setCopyStatus] = useState("");
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    // The element that opened the panel (a table row): focus goes back to it on close.
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    // Without showModal (jsdom) the panel is still shown, as a plain open <dialog>.
    if (typeof element.showModal === "function") {
      if (!element.open) element.showModal();
    } else element.setAttribute("open", "");
    const closed = () => {
      // A close queued before a remount (StrictMode runs effects twice) must not close the new panel.
      if (element.open) return;
      opener?.focus();
      onCloseRef.current();
    };
    element.addEventListener("close", closed);
    return () => {
      element.removeEventListener("close", closed);
      if (element.open && typeof element.close === "function") element.close();
      opener?.focus();
    };
  }, []);

  const close = () => {
    if (typeof dialog.current?.close === "function") dialog.current.close();
    else onCloseRef.current(); // without a native <dialog> (jsdom): the parent unmounts it
  };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(detailJson(entity, row, event));
      setCopyStatus("Copied");
    } catch (error) {
      setCopyStatus(`Copy failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  const columns = detailColumns(entity, row);
  const changed = event?.event_type === "update" ? (event.changed ?? []) : [];
  const byName = new Map(columns.map((column) => [column.name, column]));

  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      data-testid="row-detail"
      className="m-auto max-h-[85vh] w-[min(48rem,calc(100vw-1.5rem))] overflow-auto rounded-lg border border-slate-300 bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/50 dark:border-slate-700 dark:bg-slate-900 dark:text-slate-100"
    >
      <header className="sticky top-0 flex flex-wrap items-center gap-2 border-b border-slate-200 bg-white px-4 py-3 dark:border-slate-800 dark:bg-slate-900">
        <h2 id={titleId} className="flex items-center gap-2 text-base font-semibold">
          <EntityBadge name={entity.name} color={entity.color} icon={entity.icon} />
          <span>{event ? `Event ${event.id}` : "Row"}</span>
        </h2>
        {event ? <EventBadge type={event.event_type} /> : null}
        {event ? (
          <time dateTime={event.timestamp} className="text-sm text-slate-600 dark:text-slate-300" data-testid="row-detail-time">
            {formatDateTime(event.timestamp, zone)} ({zoneName(zone)})
          </time>
        ) : null}
        <span className="ml-auto flex items-center gap-2">
          <span role="status" className="text-xs text-slate-600 dark:text-slate-300">
            {copyStatus}
          </span>
          <button
            type="button"
            onClick={() => void copy()}
            className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Copy as JSON
          </button>
          <button
            type="button"
            onClick={close}
            aria-label="Close"
            className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            ✕ Close
          </button>
        </span>
      </header>
      <div className="flex flex-col gap-4 px-4 py-3">
        {changed.length > 0 ? (
          <section aria-label="Changed columns">
            <h3 className="mb-1 text-sm font-semibold">Changed</h3>
            <table className="w-full border-collapse text-left text-sm" data-testid="row-detail-changes">
              <thead className="text-xs text-slate-600 uppercase dark:text-slate-300">
                <tr>
                  <th scope="col" className="py-1 pr-3 font-medium">Column</th>
                  <th scope="col" className="py-1 pr-3 font-medium">Old</th>
                  <th scope="col" className="py-1 pr-3 font-medium" aria-hidden="true"></th>
                  <th scope="col" className="py-1 font-medium">New</th>
                </tr>
              </thead>
              <tbody>
                {changed.map((name) => {
                  const column = byName.get(name) ?? { name, type: "string" as const };
                  return (
                    <tr key={name} className="border-t border-slate-100 align-top dark:border-slate-800">
                      <th scope="row" className="py-1 pr-3 font-mono text-xs font-medium">{name}</th>
                      <td className="py-1 pr-3 text-rose-800 line-through decoration-rose-400 dark:text-rose-200">
                        <Cell value={event?.old ? fieldValue(event.old, name) : undefined} column={column} full />
                      </td>
                      <td className="py-1 pr-3" aria-hidden="true">→</td>
                      <td className="py-1 font-semibold text-emerald-800 dark:text-emerald-200">
                        <Cell value={fieldValue(row, name)} column={column} full />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        ) : null}
        <section aria-label="All columns">
          <h3 className="mb-1 text-sm font-semibold">
            {event?.event_type === "delete" ? "The row as it was deleted" : "All columns"}
          </h3>
          <table className="w-full border-collapse text-left text-sm" data-testid="row-detail-columns">
            <tbody>
              {columns.map((column) => (
                <tr key={column.name} className="border-t border-slate-100 align-top dark:border-slate-800">
                  <th scope="row" className="w-1/3 py-1 pr-3 font-normal" title={column.doc || undefined}>
                    <span className="font-mono text-xs font-medium">{column.name}</span>
                    <span className="ml-2 text-xs text-slate-600 dark:text-slate-300">
                      {column.type}
                      {column.primaryKey ? " · key" : ""}
                      {changed.includes(column.name) ? " · changed" : ""}
                    </span>
                  </th>
                  <td className="py-1">
                    <Cell value={fieldValue(row, column.name)} column={column} full />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </dialog>
  );
}
