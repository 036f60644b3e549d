import { memo, useContext, useMemo, useState } from "react";
import type { Pace } from "../hooks/usePaced";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { useCurrentRows } from "../hooks/useCurrentRows";
import type { Api } from "../lib/api";
import { displayColumns } from "../lib/columns";
import type { CurrentRow } from "../lib/currentRows";
import { fieldValue, formattedText } from "../lib/format";
import type { EventWatcher } from "../lib/realtimeClient";
import type { ColumnConfig, EntityConfig } from "../lib/types";
import { Cell } from "./Cell";
import { RowDetail } from "./RowDetail";
import { RowTable } from "./RowTable";

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

const computed = new WeakMap<EntityConfig, readonly ColumnConfig[]>();

/** The key column first, then the display fields: one array per entity, so memoized rows skip rendering. */
function rowColumns(entity: EntityConfig): readonly ColumnConfig[] {
  const known = computed.get(entity);
  if (known !== undefined) return known;
  const key = entity.columns.find((column) => column.primaryKey) ?? entity.columns.find((c) => c.name === entity.idColumn);
  const shown = displayColumns(entity);
  const columns = key === undefined || shown.some((column) => column.name === key.name) ? shown : [key, ...shown];
  computed.set(entity, columns);
  return columns;
}

export interface CurrentRowsTableProps {
  readonly api: Api;
  readonly entity: EntityConfig;
  readonly watchEvents: (watcher: EventWatcher) => () => void;
  /** Lower-cased search text: only rows whose display fields contain it are shown. */
  readonly search: string;
  /** Changes drawn at most once per period (components/RowTable.tsx). */
  readonly pace?: Pace;
}

/** The entity's table as it is now: newest rows by key, changed in place as events arrive. */
export function CurrentRowsTable({ api, entity, watchEvents, search, pace }: CurrentRowsTableProps) {
  const view = useCurrentRows(api, entity, watchEvents);
  const zone = useContext(TimeZoneContext);
  const [detail, setDetail] = useState<CurrentRow | null>(null);
  const columns = rowColumns(entity);
  const testId = `rows-${entity.name}`;
  const all = view.state === "ready" ? view.rows.rows : NO_ROWS;
  const rows = useMemo(
    () =>
      search
        ? all.filter((row) => columns.some((column) => formattedText(fieldValue(row.data, column.name), column, zone).toLowerCase().includes(search)))
        : all,
    [all, columns, search, zone],
  );
  const title = `${entity.icon} ${entity.name}: current rows`;

  return (
    <RowTable
      title={title}
      testId={testId}
      color={entity.color}
      className="rounded-tl-none"
      count={view.state === "ready" ? `${view.rows.count} rows` : view.state === "loading" ? "loading…" : "unavailable"}
      countTitle={`The newest rows by ${entity.idColumn}; at most ${entity.maxRecords} are kept`}
      notice={
        view.state === "error" ? (
          <p role="alert" className="px-3 py-2 text-sm text-rose-700 dark:text-rose-300">
            Could not read the current rows: {view.message} (retrying)
          </p>
        ) : null
      }
      caption={`${title}: newest key first; arrow keys move between rows, Enter opens a row's detail`}
      headers={columns.map((column) => ({ name: column.name, label: column.name, title: column.doc }))}
      rows={rows}
      rowKey={rowKey}
      renderRow={(row, tabStop) => <RowLine key={rowKey(row)} row={row} columns={columns} tabStop={tabStop} />}
      empty={view.state === "ready" ? "No rows" : "Loading the current rows…"}
      onOpen={setDetail}
      follow={false}
      pace={pace}
    >
      {detail === null ? null : <RowDetail entity={entity} row={detail.data} onClose={() => setDetail(null)} />}
    </RowTable>
  );
}

const NO_ROWS: readonly CurrentRow[] = [];
/** 1 and "1" are different keys. */
const rowKey = (row: CurrentRow): string => `${typeof row.key}:${row.key}`;

/** Unchanged rows keep their object, so only the rows an event touched render again. */
const RowLine = memo(function RowLine({
  row,
  columns,
  tabStop,
}: {
  row: CurrentRow;
  columns: readonly ColumnConfig[];
  tabStop: boolean;
}) {
  const deleted = row.deletedAt !== null;
  const zone = useContext(TimeZoneContext);
  return (
    <tr
      tabIndex={tabStop ? 0 : -1}
      aria-haspopup="dialog"
      data-key={rowKey(row)}
      data-row-key={String(row.key)}
      data-deleted={deleted ? "true" : undefined}
      className={`cursor-pointer border-t border-slate-100 hover:bg-slate-50 dark:border-slate-800 dark:hover:bg-slate-800/60 ${row.eventId > 0 && row.changed.length === 0 && !deleted ? "row-new" : ""} ${deleted ? "text-slate-500 line-through" : ""}`}
    >
      {columns.map((column, index) => {
        const changed = row.changed.includes(column.name);
        const was = changed && row.old !== null && Object.hasOwn(row.old, column.name) ? formattedText(row.old[column.name], column, zone) : null;
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
