import { formatValue } from "../lib/format";
import type { ColumnConfig, JsonValue } from "../lib/types";

export function Cell({ value, column }: { value: JsonValue | undefined; column: Pick<ColumnConfig, "name" | "type"> }) {
  const formatted = formatValue(value, column);
  switch (formatted.kind) {
    case "null":
      return <span className="text-xs italic text-slate-400 dark:text-slate-500">NULL</span>;
    case "number":
      return <span className="tabular-nums">{formatted.text}</span>;
    case "boolean":
      return (
        <span className={formatted.value ? "text-emerald-700 dark:text-emerald-300" : "text-slate-500"}>
          {formatted.value ? "✓ true" : "✗ false"}
        </span>
      );
    case "json":
      return (
        <details>
          <summary className="cursor-pointer font-mono text-xs">{formatted.short}</summary>
          <pre className="mt-1 max-w-md overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800">{formatted.full}</pre>
        </details>
      );
    case "text":
      return (
        <span title={formatted.full} className="inline-block max-w-[28ch] truncate align-bottom">
          {formatted.text}
        </span>
      );
  }
}
