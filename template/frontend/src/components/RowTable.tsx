/**
 * The table shell the event log and the current rows share: header, a scroller
 * that renders only the rows in view, one Tab stop with arrow keys between rows,
 * and click / Enter to open a row.
 *
 * Windowed because the page must stay responsive at 1,000 events/s with 10,000
 * rows held per entity: the DOM holds the rows in view plus a margin (about 30
 * per table), spacer rows stand for the others, so a batch of events costs the
 * same whether a table holds 50 rows or 10,000. Rows have one fixed height
 * (cells never wrap), measured once.
 */

import {
  type KeyboardEvent,
  type MouseEvent,
  type ReactNode,
  type UIEvent,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from "react";
import { type Pace, usePaced } from "../hooks/usePaced";

/** The scroller's height (Tailwind max-h-96) and the rows drawn beyond it on each side. */
const VIEWPORT_PX = 384;
const OVERSCAN = 4;
/** A row's height before the first one is measured (text-sm, py-1, one border). */
const DEFAULT_ROW_PX = 29;
/** Within this distance of the top the table follows the newest rows. */
const FOLLOW_PX = 24;

export interface Header {
  readonly name: string;
  readonly label: ReactNode;
  readonly title?: string;
}

export interface RowTableProps<T> {
  readonly title: string;
  readonly testId: string;
  /** The entity's color dot in the header. */
  readonly color?: string;
  /** "N events buffered (of M)", "N rows". */
  readonly count: string;
  readonly countTitle?: string;
  /** Buttons at the right of the header (Export CSV). */
  readonly actions?: ReactNode;
  /** A message above the table (a load error). */
  readonly notice?: ReactNode;
  readonly className?: string;
  readonly caption: string;
  readonly headers: readonly Header[];
  readonly rows: readonly T[];
  /** Unique per row; the row's <tr> carries it as data-key. */
  readonly rowKey: (row: T) => string;
  /** The row's <tr>: it must carry data-key={rowKey(row)} and tabIndex from `tabStop` when rows open. */
  readonly renderRow: (row: T, tabStop: boolean) => ReactNode;
  /** Shown in place of the rows when there are none. */
  readonly empty: string;
  /** Opens a row (click, Enter); without it rows are not interactive. */
  readonly onOpen?: (row: T) => void;
  /** Show "Jump to live" when scrolled away from the newest rows. */
  readonly follow: boolean;
  /** Anything else the section holds (the row detail dialog). */
  readonly children?: ReactNode;
  /** Draw new rows at most once per period, in this table's slot (hooks/usePaced.ts); every change at once without it. */
  readonly pace?: Pace;
}

interface Drawn<T> {
  readonly rows: readonly T[];
  readonly count: string;
}

const sameDrawn = <T,>(a: Drawn<T>, b: Drawn<T>) => a.rows === b.rows && a.count === b.count;

/** A click on a control inside a cell is that control's, not the row's. */
function onControl(target: EventTarget): boolean {
  return target instanceof Element && target.closest("summary, button, a, input") !== null;
}

/** The data row a DOM event happened in, by its data-key. */
function rowElement(target: EventTarget, body: HTMLElement | null): HTMLElement | null {
  const row = target instanceof Element ? target.closest("tr[data-key]") : null;
  return row instanceof HTMLElement && body?.contains(row) ? row : null;
}

/** The <tr> of the row with this key, when it is drawn (about 30 rows to look at). */
function drawnRow(body: HTMLElement | null, key: string): HTMLElement | null {
  for (const row of body?.querySelectorAll<HTMLElement>("tr[data-key]") ?? []) if (row.dataset.key === key) return row;
  return null;
}

export function RowTable<T>(props: RowTableProps<T>) {
  const { rowKey, onOpen, headers, pace } = props;
  // The rows and their count as of this table's last tick: everything below works on what is drawn.
  const { rows, count } = usePaced<Drawn<T>>({ rows: props.rows, count: props.count }, pace, sameDrawn);
  const scroller = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLTableSectionElement>(null);
  // The scroll offset as the last scroll event left it: read there, never after rows
  // change (reading or writing scrollTop then forces a layout of the page per batch).
  const [offset, setOffset] = useState(0);
  const offsetRef = useRef(0);
  const [rowPx, setRowPx] = useState(0);
  const height = rowPx || DEFAULT_ROW_PX;
  // The row at the top of the view and its index, to keep it there as newer rows arrive above it.
  const anchor = useRef<{ key: string; index: number } | null>(null);
  // A row to focus once it is rendered (Home / End to a row outside the window).
  const focusKey = useRef<string | null>(null);

  const first = Math.max(0, Math.floor(offset / height) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((offset + VIEWPORT_PX) / height) + OVERSCAN);
  const shown = rows.slice(first, last);

  const scrollTo = (top: number) => {
    const element = scroller.current;
    if (element === null) return;
    element.scrollTop = top;
    offsetRef.current = element.scrollTop;
    setOffset(offsetRef.current);
  };

  // Scrolled away from the top: newer rows arrive above the view, which moves down with
  // them so the rows being read stay put (the browser's scroll anchoring would pick a spacer).
  useLayoutEffect(() => {
    const held = anchor.current;
    if (held !== null && offsetRef.current > 0) {
      const same = held.index < rows.length && rowKey(rows[held.index] as T) === held.key;
      const index = same ? held.index : rows.findIndex((row) => rowKey(row) === held.key);
      if (index >= 0 && index !== held.index) scrollTo(offsetRef.current + (index - held.index) * height);
    }
    const top = Math.min(rows.length - 1, Math.floor(offsetRef.current / height));
    anchor.current = top >= 0 ? { key: rowKey(rows[top] as T), index: top } : null;
  });

  // The row height, measured once on the first rows (a layout read, not repeated).
  useLayoutEffect(() => {
    if (rowPx !== 0) return;
    const row = body.current?.querySelector("tr[data-key]");
    if (row instanceof HTMLElement && row.offsetHeight > 0) setRowPx(row.offsetHeight);
  }, [rowPx, shown.length]);

  useEffect(() => {
    const key = focusKey.current;
    if (key === null) return;
    const row = drawnRow(body.current, key);
    if (row !== null) {
      focusKey.current = null;
      row.focus();
    }
  });

  const onScroll = (event: UIEvent<HTMLDivElement>) => {
    offsetRef.current = event.currentTarget.scrollTop;
    setOffset(offsetRef.current);
  };

  const onClick = (click: MouseEvent<HTMLTableSectionElement>) => {
    const row = rowElement(click.target, body.current);
    if (!onOpen || row === null || onControl(click.target)) return;
    const found = rows.find((item) => rowKey(item) === row.dataset.key);
    if (found !== undefined) onOpen(found);
  };

  const onKeyDown = (key: KeyboardEvent<HTMLTableSectionElement>) => {
    const row = rowElement(key.target, body.current);
    if (!onOpen || row === null || key.target !== row) return;
    const index = rows.findIndex((item) => rowKey(item) === row.dataset.key);
    if (index < 0) return;
    if (key.key === "Enter") {
      key.preventDefault();
      onOpen(rows[index] as T);
      return;
    }
    const target = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 }[key.key];
    if (target === undefined || target < 0 || target >= rows.length) return;
    key.preventDefault();
    const next = drawnRow(body.current, rowKey(rows[target] as T));
    if (next !== null) next.focus(); // focusing scrolls it into view
    else {
      focusKey.current = rowKey(rows[target] as T);
      scrollTo(Math.max(0, target * height - VIEWPORT_PX / 2));
    }
  };

  return (
    <section
      aria-label={props.title}
      data-testid={props.testId}
      className={`relative rounded-lg border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900 ${props.className ?? ""}`}
    >
      <header className="flex items-center gap-2 border-b border-slate-200 px-3 py-2 dark:border-slate-800">
        {props.color ? <span aria-hidden="true" className="h-3 w-3 rounded-full" style={{ backgroundColor: props.color }} /> : null}
        <h2 className="text-sm font-semibold">{props.title}</h2>
        <span className="text-xs text-slate-600 dark:text-slate-300" data-testid={`${props.testId}-count`} title={props.countTitle}>
          {count}
        </span>
        {props.actions}
      </header>
      {props.notice}
      {props.follow && offset >= FOLLOW_PX ? (
        <button
          type="button"
          onClick={() => scrollTo(0)}
          className="absolute top-12 left-1/2 z-10 -translate-x-1/2 rounded-full bg-sky-700 px-3 py-1 text-xs font-medium text-white shadow"
        >
          Jump to live ↑
        </button>
      ) : null}
      <div
        ref={scroller}
        onScroll={onScroll}
        className="h-96 overflow-auto"
        // One fixed height and strict containment: rows going in and out are laid out and painted
        // within the scroller, never the page around it (h-96 is VIEWPORT_PX).
        style={{ overflowAnchor: "none", contain: "strict" }}
        // Without interactive rows, the scroller itself takes the focus, so keyboard users can scroll it.
        {...(onOpen ? {} : { tabIndex: 0, role: "region", "aria-label": `${props.title}, scrollable` })}
      >
        <table className="w-full border-collapse text-left text-sm">
          <caption className="sr-only">{props.caption}</caption>
          <thead className="sticky top-0 z-[1] bg-slate-100 text-xs uppercase text-slate-600 dark:bg-slate-800 dark:text-slate-300">
            <tr>
              {headers.map((header) => (
                <th key={header.name} scope="col" className="px-2 py-1.5 font-medium" title={header.title || undefined}>
                  {header.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody ref={body} onClick={onClick} onKeyDown={onKeyDown}>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={headers.length} className="px-2 py-6 text-center text-slate-600 dark:text-slate-300">
                  {props.empty}
                </td>
              </tr>
            ) : null}
            {first > 0 ? <Spacer px={first * height} columns={headers.length} /> : null}
            {shown.map((row, index) => props.renderRow(row, index === 0))}
            {last < rows.length ? <Spacer px={(rows.length - last) * height} columns={headers.length} /> : null}
          </tbody>
        </table>
      </div>
      {props.children}
    </section>
  );
}

/** Stands for the rows outside the window, so the scrollbar is that of the whole table. */
function Spacer({ px, columns }: { px: number; columns: number }) {
  return (
    <tr aria-hidden="true">
      <td colSpan={columns} style={{ height: px, padding: 0 }} />
    </tr>
  );
}
