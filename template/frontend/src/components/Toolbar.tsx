import type { EntityConfig, EventType, Features } from "../lib/types";
import { EVENT_TYPE_STYLES } from "./EventBadge";

export const EVENT_TYPES: readonly EventType[] = ["insert", "update", "delete"];

export type View = "tables" | "stream";

export interface ToolbarProps {
  readonly entities: readonly EntityConfig[];
  readonly features: Features;
  readonly hidden: readonly string[];
  readonly onToggleEntity: (name: string) => void;
  /** Event types not shown (the filter by insert / update / delete). */
  readonly hiddenTypes: readonly string[];
  readonly onToggleType: (type: EventType) => void;
  readonly query: string;
  readonly onQuery: (query: string) => void;
  readonly view: View;
  readonly onView: (view: View) => void;
  readonly paused: boolean;
  /** Events received while paused. */
  readonly pending: number;
  readonly onPause: () => void;
  readonly onResume: () => void;
}

/** The controls above the tables: entity and event-type filters, search, view, pause. */
export function Toolbar(props: ToolbarProps) {
  const { entities, features, hidden, query, view, paused, pending } = props;
  return (
    <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Dashboard controls">
      {features.filters ? (
        <fieldset className="flex flex-wrap gap-1">
          <legend className="sr-only">Entities shown</legend>
          {entities.map((entity) => (
            <label
              key={entity.name}
              className="inline-flex cursor-pointer items-center gap-1 rounded-full border px-2 py-1 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-600 dark:border-slate-700"
              style={{ borderColor: entity.color }}
            >
              <input
                type="checkbox"
                className="sr-only"
                checked={!hidden.includes(entity.name)}
                onChange={() => props.onToggleEntity(entity.name)}
              />
              <span aria-hidden="true">{hidden.includes(entity.name) ? "○" : "●"}</span>
              {entity.icon} {entity.name}
            </label>
          ))}
        </fieldset>
      ) : null}
      {features.filters ? (
        <fieldset className="flex flex-wrap gap-1" data-testid="event-type-filter">
          <legend className="sr-only">Event types shown</legend>
          {EVENT_TYPES.map((type) => {
            const shown = !props.hiddenTypes.includes(type);
            return (
              <label
                key={type}
                className={`inline-flex cursor-pointer items-center gap-1 rounded-full px-2 py-1 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-sky-600 ${
                  shown ? EVENT_TYPE_STYLES[type] : "bg-white text-slate-600 line-through dark:bg-slate-900 dark:text-slate-300"
                }`}
              >
                <input type="checkbox" className="sr-only" checked={shown} onChange={() => props.onToggleType(type)} />
                <span aria-hidden="true">{shown ? "●" : "○"}</span>
                {type}
              </label>
            );
          })}
        </fieldset>
      ) : null}
      {features.search ? (
        <input
          type="search"
          aria-label="Search the rows shown"
          placeholder="Search…"
          value={query}
          onChange={(event) => props.onQuery(event.target.value)}
          className="min-w-40 flex-1 rounded border border-slate-300 bg-white px-3 py-1 text-sm dark:border-slate-700 dark:bg-slate-900"
        />
      ) : null}
      <div role="group" aria-label="View" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
        {(["tables", "stream"] as const).map((option) => (
          <button
            key={option}
            type="button"
            aria-pressed={view === option}
            onClick={() => props.onView(option)}
            className={`px-3 py-1 text-sm ${view === option ? "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900" : ""}`}
          >
            {option === "tables" ? "Tables" : "Stream"}
          </button>
        ))}
      </div>
      {features.pause ? (
        <button
          type="button"
          onClick={paused ? props.onResume : props.onPause}
          aria-pressed={paused}
          className="rounded bg-slate-800 px-3 py-1 text-sm text-white dark:bg-slate-200 dark:text-slate-900"
        >
          {paused ? `▶ Resume (${pending} waiting)` : "⏸ Pause"}
        </button>
      ) : null}
    </div>
  );
}
