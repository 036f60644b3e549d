import { type KeyboardEvent, type MouseEvent, memo, useCallback, useContext, useEffect, useRef, useState } from "react";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { displayColumns } from "../lib/columns";
import { downloadCsv, toCsv } from "../lib/csv";
import { fieldValue, formatClock, formatValue, type TimeZoneMode } from "../lib/format";
import type { ColumnConfig, DbEvent, EntityConfig } from "../lib/types";
import { Cell } from "./Cell";
import { EntityBadge, EventBadge } from "./EventBadge";
import { RowDetail } from "./RowDetail";

const RENDER_STEP = 50;
const number = new Intl.NumberFormat();

export interface EventTableProps {
  readonly title: string;
  readonly testId: string;
  readonly events: readonly DbEvent[];
  readonly columns: readonly ColumnConfig[];
  /** In the unified stream: the entity of each row, for its badge and color. */
  readonly entities?: ReadonlyMap<string, EntityConfig>;
  readonly color?: string;
  readonly autoScroll: boolean;
  readonly exportCsv: boolean;
  /** Data fields of the CSV; by default the table's columns. */
  readonly csvFields?: readonly string[];
  /** The entity of a per-entity table: its row detail shows every column, not only those of the table. */
  readonly entity?: EntityConfig;
  /** Events the page holds for this table before any filter, and the most it keeps. */
  readonly buffered?: number;
  readonly capacity?: number;
  /** Shown when there is no row ("Waiting for changes…" by default, for the live views). */
  readonly emptyText?: string;
  /** Replaces the export of the rows held (History mode exports its whole range). */
  readonly onExportCsv?: () => void;
}

/** "12 events buffered (of 500)", or with a filter on "3 shown · 12 events buffered (of 500)". */
export function countLabel(shown: number, buffered: number, capacity: number | undefined): string {
  const held = `${number.format(buffered)} event${buffered === 1 ? "" : "s"} buffered`;
  const label = capacity === undefined ? held : `${held} (of ${number.format(capacity)})`;
  return shown === buffered ? label : `${number.format(shown)} shown · ${label}`;
}

export function EventTable(props: EventTableProps) {
  const { title, events, columns, entities, color, autoScroll, exportCsv, testId, csvFields, entity } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [detail, setDetail] = useState<DbEvent | null>(null);
  // Stable: memoized rows receive it without re-rendering.
  const openDetail = useCallback((event: DbEvent) => setDetail(event), []);
  const detailEntity = detail ? (entity ?? entities?.get(detail.entity)) : undefined;
  const [following, setFollowing] = useState(true);
  const [limit, setLimit] = useState(RENDER_STEP);
  // The buffer may hold more (for search and export); the DOM holds what is looked at.
  const shown = events.length > limit ? events.slice(0, limit) : events;

  // Newest rows are on top: following the live edge means staying at the top.
  useEffect(() => {
    if (autoScroll && following && scroller.current) scroller.current.scrollTop = 0;
  }, [events, following, autoScroll]);

  const onScroll = () => {
    if (!autoScroll || !scroller.current) return;
    setFollowing(scroller.current.scrollTop < 24);
  };

  const exportRows = () => {
    if (props.onExportCsv) {
      props.onExportCsv();
      return;
    }
    const name = title.toLowerCase().replaceAll(/[^a-z0-9]+/g, "-");
    downloadCsv(`${name}-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.csv`, toCsv(events, csvFields ?? columns.map((c) => c.name)));
  };

  return (
    <section
      aria-label={title}
      data-testid={testId}
      className="relative rounded-lg border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900"
    >
      <header className="flex items-center gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-800">
        {color ? <span aria-hidden="true" className="h-3 w-3 rounded-full" style={{ backgroundColor: color }} /> : null}
        <h2 className="text-sm font-semibold">{title}</h2>
        <span className="text-xs text-slate-500 dark:text-slate-400" data-testid={`${testId}-count`}>
          {countLabel(events.length, props.buffered ?? events.length, props.capacity)}
        </span>
        {exportCsv ? (
          <button
            type="button"
            onClick={exportRows}
            className="ml-auto rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 focus:outline-2 focus:outline-sky-500 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Export CSV
          </button>
        ) : null}
      </header>
      {!following && autoScroll ? (
        <button
          type="button"
          onClick={() => setFollowing(true)}
          className="absolute top-12 left-1/2 z-10 -translate-x-1/2 rounded-full bg-sky-700 px-3 py-1 text-xs font-medium text-white shadow"
        >
          Jump to live ↑
        </button>
      ) : null}
      <div ref={scroller} onScroll={onScroll} className="max-h-96 overflow-auto" style={{ overflowAnchor: "auto" }}>
        <table className="w-full border-collapse text-left text-sm">
          <caption className="sr-only">
            {title}: newest first{entity || entities ? "; arrow keys move between rows, Enter opens a row's detail" : ""}
          </caption>
          <thead className="sticky top-0 bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
            <tr>
              <th scope="col" className="px-2 py-1.5 font-medium">Time</th>
              {entities ? <th scope="col" className="px-2 py-1.5 font-medium">Entity</th> : null}
              <th scope="col" className="px-2 py-1.5 font-medium">Event</th>
              {entities ? (
                <th scope="col" className="px-2 py-1.5 font-medium">Details</th>
              ) : (
                columns.map((column) => (
                  <th key={column.name} scope="col" className="px-2 py-1.5 font-medium" title={column.doc || undefined}>
                    {column.name}
                  </th>
                ))
              )}
            </tr>
          </thead>
          <tbody>
            {events.length === 0 ? (
              <tr>
                <td colSpan={entities ? 4 : columns.length + 2} className="px-2 py-6 text-center text-slate-600 dark:text-slate-300">
                  {props.emptyText ?? "Waiting for changes…"}
                </td>
              </tr>
            ) : (
              shown.map((event, index) => (
                <EventRow
                  key={event.id}
                  event={event}
                  columns={columns}
                  entity={entities?.get(event.entity)}
                  color={color}
                  onOpen={entity || entities ? openDetail : undefined}
                  first={index === 0}
                />
              ))
            )}
          </tbody>
        </table>
        {events.length > limit ? (
          <button
            type="button"
            onClick={() => setLimit(limit + RENDER_STEP)}
            className="w-full border-t border-slate-200 py-1.5 text-xs text-sky-700 hover:bg-slate-50 dark:border-slate-800 dark:text-sky-300 dark:hover:bg-slate-800"
          >
            Show {Math.min(RENDER_STEP, events.length - limit)} more of {events.length}
          </button>
        ) : null}
      </div>
      {detail && detailEntity ? (
        <RowDetail entity={detailEntity} row={detail.data} event={detail} onClose={() => setDetail(null)} />
      ) : null}
    </section>
  );
}

/** An update's old value of a changed cell as short text, or null when the cell did not change. */
function oldValueText(event: DbEvent, column: ColumnConfig, zone: TimeZoneMode): string | null {
  if (!event.old || !Object.hasOwn(event.old, column.name)) return null;
  const formatted = formatValue(event.old[column.name], column, zone);
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

/** One line of an entity's display fields, for the unified stream. */
function Summary({ event, entity }: { event: DbEvent; entity: EntityConfig }) {
  return (
    <span className="flex flex-wrap gap-x-3 gap-y-0.5">
      {displayColumns(entity).map((column) => (
        <span key={column.name}>
          <span className="text-xs text-slate-500 dark:text-slate-400">{column.name} </span>
          <Cell value={fieldValue(event.data, column.name)} column={column} />
        </span>
      ))}
    </span>
  );
}

interface EventRowProps {
  readonly event: DbEvent;
  readonly columns: readonly ColumnConfig[];
  readonly entity: EntityConfig | undefined;
  readonly color: string | undefined;
  /** Opens the row detail; rows without it are not interactive. */
  readonly onOpen: ((event: DbEvent) => void) | undefined;
  /** The table's one Tab stop (the newest row); arrow keys move to the others. */
  readonly first: boolean;
}

/** Arrow keys move between the rows of a table (Tab would otherwise stop at every row). */
const ROW_KEYS: Readonly<Record<string, (row: Element) => Element | null>> = {
  ArrowDown: (row) => row.nextElementSibling,
  ArrowUp: (row) => row.previousElementSibling,
  Home: (row) => row.parentElement?.firstElementChild ?? null,
  End: (row) => row.parentElement?.lastElementChild ?? null,
};

/** A click on a control inside a cell (a JSON cell's disclosure) is that control's, not the row's. */
function onControl(target: EventTarget): boolean {
  return target instanceof Element && target.closest("summary, button, a, input") !== null;
}

/** Rows never change once received: memoized, a new event renders one row, not the table. */
const EventRow = memo(function EventRow({ event, columns, entity, color, onOpen, first }: EventRowProps) {
  const zone = useContext(TimeZoneContext);
  const open = onOpen
    ? {
        tabIndex: first ? 0 : -1,
        "aria-haspopup": "dialog" as const,
        onClick: (click: MouseEvent) => {
          if (!onControl(click.target)) onOpen(event);
        },
        onKeyDown: (key: KeyboardEvent) => {
          if (key.target !== key.currentTarget) return;
          const move = ROW_KEYS[key.key];
          if (key.key === "Enter") {
            key.preventDefault();
            onOpen(event);
          } else if (move) {
            const target = move(key.currentTarget);
            if (target instanceof HTMLElement) {
              key.preventDefault();
              target.focus();
            }
          }
        },
      }
    : {};
  return (
    <tr
      data-event-id={event.id}
      className={`row-new border-t border-slate-100 dark:border-slate-800 ${onOpen ? "cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/60" : ""}`}
      style={{ boxShadow: `inset 3px 0 0 ${entity?.color ?? color ?? "transparent"}` }}
      {...open}
    >
      <td className="px-2 py-1 whitespace-nowrap tabular-nums text-slate-600 dark:text-slate-300">
        <time dateTime={event.timestamp} title={event.timestamp}>
          {formatClock(event.timestamp, zone)}
        </time>
      </td>
      {entity ? (
        <td className="px-2 py-1">
          <EntityBadge name={entity.name} color={entity.color} icon={entity.icon} />
        </td>
      ) : null}
      <td className="px-2 py-1">
        <EventBadge type={event.event_type} />
      </td>
      {entity ? (
        <td className="px-2 py-1">
          <Summary event={event} entity={entity} />
        </td>
      ) : (
        columns.map((column) => {
          const was = oldValueText(event, column, zone);
          return (
            <td
              key={column.name}
              className={`px-2 py-1 whitespace-nowrap ${event.changed?.includes(column.name) ? "font-semibold" : ""}`}
              title={was === null ? undefined : `was: ${was}`}
              data-old={was ?? undefined}
            >
              <Cell value={fieldValue(event.data, column.name)} column={column} />
              {was === null ? null : <span className="sr-only"> (was: {was})</span>}
            </td>
          );
        })
      )}
    </tr>
  );
});
