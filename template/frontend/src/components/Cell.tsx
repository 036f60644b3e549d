import { useContext } from "react";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { formatValue } from "../lib/format";
import type { ColumnConfig, JsonValue } from "../lib/types";

export interface CellProps {
  readonly value: JsonValue | undefined;
  readonly column: Pick<ColumnConfig, "name" | "type">;
  /** Show long text and JSON in full (the row detail), not shortened to fit a table cell. */
  readonly full?: boolean;
}

export function Cell({ value, column, full = false }: CellProps) {
  const zone = useContext(TimeZoneContext);
  const formatted = formatValue(value, column, zone);
  switch (formatted.kind) {
    case "null":
      return <span className="text-xs italic text-slate-500 dark:text-slate-400">NULL</span>;
    case "number":
      return <span className="tabular-nums">{formatted.text}</span>;
    case "boolean":
      return (
        <span className={formatted.value ? "text-emerald-700 dark:text-emerald-300" : "text-slate-600 dark:text-slate-300"}>
          {formatted.value ? "✓ true" : "✗ false"}
        </span>
      );
    case "json":
      return full ? (
        <pre className="max-w-full overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{formatted.full}</pre>
      ) : (
        // One line in a table (rows have one height); the row detail shows it in full.
        <span title={formatted.full} className="font-mono text-xs">
          {formatted.short}
        </span>
      );
    case "text":
      return full ? (
        <span className="break-words whitespace-pre-wrap">{formatted.full ?? formatted.text}</span>
      ) : (
        <span title={formatted.full} className="inline-block max-w-[28ch] truncate align-bottom">
          {formatted.text}
        </span>
      );
  }
}
