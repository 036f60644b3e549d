import { useEffect, useMemo, useState } from "react";
import { ConnectionStatus } from "./components/ConnectionStatus";
import { EventTable } from "./components/EventTable";
import { StatsCards } from "./components/StatsCards";
import { ENTITIES, FEATURES, PROJECT_NAME } from "./generated/entities";
import { useDebounced } from "./hooks/useDebounced";
import { usePersistentState } from "./hooks/usePersistentState";
import { useRealtimeData } from "./hooks/useRealtimeData";
import { useServerStats } from "./hooks/useServerStats";
import { matchesSearch } from "./lib/search";
import { eventsPerSecond } from "./lib/store";
import type { ColumnConfig, EntityConfig } from "./lib/types";

const TOKEN = new URLSearchParams(window.location.search).get("token");
const BASE_URL = window.location.origin;
const entityByName = new Map(ENTITIES.map((entity) => [entity.name, entity]));

/** Computed once: stable arrays let the memoized rows skip re-rendering. */
const displayColumns = new Map(
  ENTITIES.map((entity: EntityConfig) => [
    entity.name,
    entity.displayFields
      .map((name) => entity.columns.find((column) => column.name === name))
      .filter((column): column is ColumnConfig => column !== undefined),
  ]),
);
const NO_COLUMNS: ColumnConfig[] = [];

/** Dark mode: the system's choice until the user picks one, which is remembered. */
function useTheme(): [boolean, () => void] {
  const [theme, setTheme] = usePersistentState<"light" | "dark" | null>("dashboard.theme", null);
  const dark = theme === null ? window.matchMedia?.("(prefers-color-scheme: dark)").matches === true : theme === "dark";
  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
  }, [dark]);
  return [dark, () => setTheme(dark ? "light" : "dark")];
}

export function App() {
  const realtime = useRealtimeData({ entities: ENTITIES, token: TOKEN });
  const server = useServerStats(BASE_URL, TOKEN);
  const { data, status, paused, pending } = realtime;
  const [hidden, setHidden] = usePersistentState<string[]>("dashboard.hiddenEntities", []);
  const [view, setView] = usePersistentState<"tables" | "stream">("dashboard.view", "tables");
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim().toLowerCase(), 200);
  const [dark, toggleTheme] = useTheme();

  const visible = FEATURES.filters ? ENTITIES.filter((entity) => !hidden.includes(entity.name)) : ENTITIES;
  const rate = eventsPerSecond(data);

  const filtered = useMemo(() => {
    const byEntity = new Map<string, ReturnType<typeof data.stream.slice>>();
    for (const entity of ENTITIES) {
      const rows = data.byEntity[entity.name] ?? [];
      byEntity.set(entity.name, search ? rows.filter((event) => matchesSearch(event, entity, search)) : [...rows]);
    }
    const visibleNames = new Set(visible.map((entity) => entity.name));
    const stream = data.stream.filter((event) => {
      const entity = entityByName.get(event.entity);
      return entity !== undefined && visibleNames.has(entity.name) && (!search || matchesSearch(event, entity, search));
    });
    return { byEntity, stream };
  }, [data, search, visible]);

  const toggleEntity = (name: string) =>
    setHidden(hidden.includes(name) ? hidden.filter((item) => item !== name) : [...hidden, name]);

  return (
    <div className="mx-auto flex max-w-screen-2xl flex-col gap-4 p-3 sm:p-5">
      <header className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">{PROJECT_NAME}</h1>
        <ConnectionStatus status={status} />
        <span className="text-sm text-slate-600 dark:text-slate-300" data-testid="last-event">
          Last event: {data.lastEventAt ? new Date(data.lastEventAt).toLocaleTimeString() : "none yet"}
        </span>
        <span className="text-sm tabular-nums text-slate-600 dark:text-slate-300" data-testid="rate">
          {rate.toFixed(1)} events/s
        </span>
        {FEATURES.darkMode ? (
          <button
            type="button"
            onClick={toggleTheme}
            aria-pressed={dark}
            className="ml-auto rounded border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
          >
            {dark ? "☀️ Light" : "🌙 Dark"}
          </button>
        ) : null}
      </header>

      {FEATURES.statistics ? <StatsCards entities={visible} data={data} server={server} /> : null}

      <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label="Dashboard controls">
        {FEATURES.filters ? (
          <fieldset className="flex flex-wrap gap-1">
            <legend className="sr-only">Entities shown</legend>
            {ENTITIES.map((entity) => (
              <label
                key={entity.name}
                className="inline-flex cursor-pointer items-center gap-1 rounded-full border px-2 py-1 text-sm has-[:focus-visible]:outline-2 dark:border-slate-700"
                style={{ borderColor: entity.color }}
              >
                <input
                  type="checkbox"
                  className="sr-only"
                  checked={!hidden.includes(entity.name)}
                  onChange={() => toggleEntity(entity.name)}
                />
                <span aria-hidden="true">{hidden.includes(entity.name) ? "○" : "●"}</span>
                {entity.icon} {entity.name}
              </label>
            ))}
          </fieldset>
        ) : null}
        {FEATURES.search ? (
          <input
            type="search"
            aria-label="Search the rows shown"
            placeholder="Search…"
            value={query}
            onChange={(event) => setQuery(event.target.value)}
            className="min-w-40 flex-1 rounded border border-slate-300 bg-white px-3 py-1 text-sm dark:border-slate-700 dark:bg-slate-900"
          />
        ) : null}
        <div role="group" aria-label="View" className="inline-flex overflow-hidden rounded border border-slate-300 dark:border-slate-700">
          {(["tables", "stream"] as const).map((option) => (
            <button
              key={option}
              type="button"
              aria-pressed={view === option}
              onClick={() => setView(option)}
              className={`px-3 py-1 text-sm ${view === option ? "bg-slate-800 text-white dark:bg-slate-200 dark:text-slate-900" : ""}`}
            >
              {option === "tables" ? "Tables" : "Stream"}
            </button>
          ))}
        </div>
        {FEATURES.pause ? (
          <button
            type="button"
            onClick={paused ? realtime.resume : realtime.pause}
            aria-pressed={paused}
            className="rounded bg-slate-800 px-3 py-1 text-sm text-white dark:bg-slate-200 dark:text-slate-900"
          >
            {paused ? `▶ Resume (${pending} waiting)` : "⏸ Pause"}
          </button>
        ) : null}
      </div>

      <main className={view === "tables" ? "grid grid-cols-1 gap-4 xl:grid-cols-2" : "flex flex-col"}>
        {view === "tables" ? (
          visible.map((entity) => (
            <EventTable
              key={entity.name}
              testId={`table-${entity.name}`}
              title={`${entity.icon} ${entity.name}`}
              color={entity.color}
              events={filtered.byEntity.get(entity.name) ?? []}
              columns={displayColumns.get(entity.name) ?? NO_COLUMNS}
              autoScroll={FEATURES.autoScroll}
              exportCsv={FEATURES.exportCsv}
            />
          ))
        ) : (
          <EventTable
            testId="table-stream"
            title="All changes"
            events={filtered.stream}
            columns={NO_COLUMNS}
            csvFields={[...new Set(visible.flatMap((entity) => entity.displayFields))]}
            entities={entityByName}
            autoScroll={FEATURES.autoScroll}
            exportCsv={FEATURES.exportCsv}
          />
        )}
      </main>
    </div>
  );
}
