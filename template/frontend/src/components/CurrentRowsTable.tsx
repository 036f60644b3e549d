import { memo, useState } from "react";
import { useCurrentRows } from "../hooks/useCurrentRows";
import type { Api } from "../lib/api";
import { displayColumns } from "../lib/columns";
import type { CurrentRow } from "../lib/currentRows";
import { fieldValue, formatValue } from "../lib/format";
import type { EventWatcher } from "../lib/realtimeClient";
import type { ColumnConfig, EntityConfig, JsonValue } from "../lib/types";
import { Cell } from "./Cell";
import { RowDetail } from "./RowDetail";

const RENDER_STEP = 50;

export type EntityMode = "events" | "rows";

/** Event log or current rows, per entity. */
export function EntityViewSwitch({
  entity,
  mode,
  onMode,
}: {
  readonly entity: EntityConfig;
  readonly mode: EntityMode;
  readonly onMode: (mode: EntityMode) => void;
}) {
  return (
    <div role="group" aria-label={`${entity.name}: view`} className="inline-flex self-start overflow-hidden rounded-t border border-b-0 border-slate-300 text-xs dark:border-slate-700">
      {(["events", "rows"] as const).map((option) => (
        <button
          key={option}
          type="button"
          aria-pressed={mode === option}
          data-testid={`view-${entity.name}-${option}`}
          onClick={() => onMode(option)}
          className={`px-2 py-0.5 focus-visible:outline-2 focus-visible:outline-sky-500 ${mode === option ? "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900" : ""}`}
        >
          {option === "events" ? "Event log" : "Current rows"}
        </button>
      ))}
    </div>
  );
}

/** The key column first, then the display fields. */
function rowColumns(entity: EntityConfig): readonly ColumnConfig[] {
  const key = entity.columns.find((column) => column.primaryKey) ?? entity.columns.find((c) => c.name === entity.idColumn);
  const shown = displayColumns(entity);
  return key === undefined || shown.some((column) => column.name === key.name) ? shown : [key, ...shown];
}

function oldText(value: JsonValue | undefined, column: ColumnConfig): string {
  const formatted = formatValue(value, column);
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

export interface CurrentRowsTableProps {
  readonly api: Api;
  readonly entity: EntityConfig;
  readonly watchEvents: (watcher: EventWatcher) => () => void;
  /** Lower-cased search text: only rows whose display fields contain it are shown. */
  readonly search: string;
}

/** The entity's table as it is now: newest rows by key, changed in place as events arrive. */
export function CurrentRowsTable({ api, entity, watchEvents, search }: CurrentRowsTableProps) {
  const view = useCurrentRows(api, entity, watchEvents);
  const [limit, setLimit] = useState(RENDER_STEP);
  const [detail, setDetail] = useState<CurrentRow | null>(null);
  const columns = rowColumns(entity);
  const testId = `rows-${entity.name}`;
  const all = view.state === "ready" ? view.rows.rows : [];
  const rows = search
    ? all.filter((row) => columns.some((column) => oldText(fieldValue(row.data, column.name), column).toLowerCase().includes(search)))
    : all;
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  const title = `${entity.icon} ${entity.name}: current rows`;

  return (
    <section
      aria-label={title}
      data-testid={testId}
      className="relative rounded-lg rounded-tl-none border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <header className="flex items-center gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-800">
        <span aria-hidden="true" className="h-3 w-3 rounded-full" style={{ backgroundColor: entity.color }} />
        <h2 className="text-sm font-semibold">{title}</h2>
        <span
          className="text-xs text-slate-600 dark:text-slate-300"
          data-testid={`${testId}-count`}
          title={`The newest rows by ${entity.idColumn}; at most ${entity.maxRecords} are kept`}
        >
          {view.state === "ready" ? `${view.rows.count} rows` : view.state === "loading" ? "loading…" : "unavailable"}
        </span>
      </header>
      {view.state === "error" ? (
        <p role="alert" className="px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
          Could not read the current rows: {view.message} (retrying)
        </p>
      ) : null}
      <div className="max-h-96 overflow-auto" tabIndex={0} role="region" aria-label={`${title}, scrollable`}>
        <table className="w-full border-collapse text-left text-sm">
          <caption className="sr-only">{title}: newest key first</caption>
          <thead className="sticky top-0 bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
            <tr>
              {columns.map((column) => (
                <th key={column.name} scope="col" className="px-2 py-1.5 font-medium" title={column.doc || undefined}>
                  {column.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={columns.length} className="px-2 py-6 text-center text-slate-600 dark:text-slate-300">
                  {view.state === "ready" ? "No rows" : "Loading the current rows…"}
                </td>
              </tr>
            ) : (
              shown.map((row) => (
                <RowLine key={`${typeof row.key}:${row.key}`} row={row} columns={columns} onOpen={setDetail} />
              ))
            )}
          </tbody>
        </table>
        {rows.length > limit ? (
          <button
            type="button"
            onClick={() => setLimit(limit + RENDER_STEP)}
            className="w-full border-t border-slate-200 py-1.5 text-xs text-sky-700 hover:bg-slate-50 dark:border-slate-800 dark:text-sky-300 dark:hover:bg-slate-800"
          >
            Show {Math.min(RENDER_STEP, rows.length - limit)} more of {rows.length}
          </button>
        ) : null}
      </div>
      {detail === null ? null : <RowDetail entity={entity} row={detail.data} onClose={() => setDetail(null)} />}
    </section>
  );
}

/** Unchanged rows keep their object, so only the rows an event touched render again. */
const RowLine = memo(function RowLine({
  row,
  columns,
  onOpen,
}: {
  row: CurrentRow;
  columns: readonly ColumnConfig[];
  onOpen: (row: CurrentRow) => void;
}) {
  const deleted = row.deletedAt !== null;
  return (
    <tr
      tabIndex={0}
      onClick={() => onOpen(row)}
      onKeyDown={(key) => {
        if (key.key === "Enter") {
          key.preventDefault();
          onOpen(row);
        }
      }}
      data-row-key={String(row.key)}
      data-deleted={deleted ? "true" : undefined}
      className={`cursor-pointer border-t border-slate-100 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-sky-500 dark:border-slate-800 dark:hover:bg-slate-800/60 ${row.eventId > 0 && row.changed.length === 0 && !deleted ? "row-new" : ""} ${deleted ? "text-slate-500 line-through" : ""}`}
    >
      {columns.map((column, index) => {
        const changed = row.changed.includes(column.name);
        const was = changed && row.old !== null && Object.hasOwn(row.old, column.name) ? oldText(row.old[column.name], column) : null;
        return (
          <td
            key={column.name}
            className="px-2 py-1 whitespace-nowrap"
            title={was === null ? undefined : `was: ${was}`}
            data-old={was ?? undefined}
          >
            {/* Keyed by the event: each change restarts the flash. */}
            <span key={changed ? row.eventId : 0} className={changed ? "cell-changed font-semibold" : undefined}>
              <Cell value={fieldValue(row.data, column.name)} column={column} />
            </span>
            {was === null ? null : <span className="sr-only"> (was: {was})</span>}
            {deleted && index === 0 ? <span className="sr-only"> (deleted)</span> : null}
          </td>
        );
      })}
    </tr>
  );
});
