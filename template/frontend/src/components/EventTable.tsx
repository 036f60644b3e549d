import { memo, useContext, useState } from "react";
import type { Pace } from "../hooks/usePaced";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { displayColumns } from "../lib/columns";
import { downloadCsv, toCsv } from "../lib/csv";
import { fieldValue, formatClock, formattedText, type TimeZoneMode } from "../lib/format";
import type { ColumnConfig, DbEvent, EntityConfig } from "../lib/types";
import { Cell } from "./Cell";
import { EntityBadge, EventBadge } from "./EventBadge";
import { RowDetail } from "./RowDetail";
import { type Header, RowTable } from "./RowTable";

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
  /** New rows drawn at most once per period (components/RowTable.tsx). */
  readonly pace?: Pace;
}

/** "12 events buffered (of 500)", or with a filter on "3 shown · 12 events buffered (of 500)". */
export function countLabel(shown: number, buffered: number, capacity: number | undefined): string {
  const held = `${number.format(buffered)} event${buffered === 1 ? "" : "s"} buffered`;
  const label = capacity === undefined ? held : `${held} (of ${number.format(capacity)})`;
  return shown === buffered ? label : `${number.format(shown)} shown · ${label}`;
}

export function EventTable(props: EventTableProps) {
  const { title, events, columns, entities, color, autoScroll, exportCsv, testId, csvFields, entity } = props;
  const [detail, setDetail] = useState<DbEvent | null>(null);
  const detailEntity = detail ? (entity ?? entities?.get(detail.entity)) : undefined;
  const interactive = entity !== undefined || entities !== undefined;

  const exportRows = () => {
    if (props.onExportCsv) {
      props.onExportCsv();
      return;
    }
    const name = title.toLowerCase().replaceAll(/[^a-z0-9]+/g, "-");
    downloadCsv(`${name}-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.csv`, toCsv(events, csvFields ?? columns.map((c) => c.name)));
  };

  const headers: Header[] = [
    { name: " time", label: "Time" },
    ...(entities ? [{ name: " entity", label: "Entity" }] : []),
    { name: " event", label: "Event" },
    ...(entities
      ? [{ name: " details", label: "Details" }]
      : columns.map((column) => ({ name: column.name, label: column.name, title: column.doc }))),
  ];

  return (
    <RowTable
      title={title}
      testId={testId}
      color={color}
      count={countLabel(events.length, props.buffered ?? events.length, props.capacity)}
      actions={
        exportCsv ? (
          <button
            type="button"
            onClick={exportRows}
            className="ml-auto rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 focus:outline-2 focus:outline-sky-500 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            Export CSV
          </button>
        ) : null
      }
      caption={`${title}: newest first${interactive ? "; arrow keys move between rows, Enter opens a row's detail" : ""}`}
      headers={headers}
      rows={events}
      rowKey={eventKey}
      renderRow={(event, tabStop) => (
        <EventRow
          key={event.id}
          event={event}
          columns={columns}
          entity={entities?.get(event.entity)}
          color={color}
          interactive={interactive}
          tabStop={tabStop}
        />
      )}
      empty={props.emptyText ?? "Waiting for changes…"}
      onOpen={interactive ? setDetail : undefined}
      follow={autoScroll}
      pace={props.pace}
    >
      {detail && detailEntity ? (
        <RowDetail entity={detailEntity} row={detail.data} event={detail} onClose={() => setDetail(null)} />
      ) : null}
    </RowTable>
  );
}

const eventKey = (event: DbEvent): string => String(event.id);

/** An update's old value of a changed cell as short text, or null when the cell did not change. */
function oldValueText(event: DbEvent, column: ColumnConfig, zone: TimeZoneMode): string | null {
  if (!event.old || !Object.hasOwn(event.old, column.name)) return null;
  return formattedText(event.old[column.name], column, zone);
}

/** One line of an entity's display fields, for the unified stream. */
function Summary({ event, entity }: { event: DbEvent; entity: EntityConfig }) {
  return (
    <span className="flex gap-x-3 whitespace-nowrap">
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
  /** Rows open the row detail (the table handles click and keys); others are not focusable. */
  readonly interactive: boolean;
  /** The table's one Tab stop (its first row drawn); arrow keys move to the others. */
  readonly tabStop: boolean;
}

/** Rows never change once received: memoized, a new event renders one row, not the table. */
const EventRow = memo(function EventRow({ event, columns, entity, color, interactive, tabStop }: EventRowProps) {
  const zone = useContext(TimeZoneContext);
  return (
    <tr
      data-key={event.id}
      data-event-id={event.id}
      className={`row-new border-t border-slate-100 dark:border-slate-800 ${interactive ? "cursor-pointer hover:bg-slate-50 dark:hover:bg-slate-800/60" : ""}`}
      style={{ boxShadow: `inset 3px 0 0 ${entity?.color ?? color ?? "transparent"}` }}
      {...(interactive ? { tabIndex: tabStop ? 0 : -1, "aria-haspopup": "dialog" as const } : {})}
    >
      <td className="px-2 py-1 whitespace-nowrap tabular-nums text-slate-600 dark:text-slate-300">
        <time dateTime={event.timestamp} title={event.timestamp}>
          {formatClock(event.timestamp, zone)}
        </time>
      </td>
      {entity ? (
        <td className="px-2 py-1 whitespace-nowrap">
          <EntityBadge name={entity.name} color={entity.color} icon={entity.icon} />
        </td>
      ) : null}
      <td className="px-2 py-1 whitespace-nowrap">
        <EventBadge type={event.event_type} />
      </td>
      {entity ? (
        <td className="px-2 py-1 whitespace-nowrap">
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
