import { useMemo, useState } from "react";
import { useAlerts } from "../hooks/useAlerts";
import { useDebounced } from "../hooks/useDebounced";
import { usePersistentState } from "../hooks/usePersistentState";
import { useRealtimeData } from "../hooks/useRealtimeData";
import { useServerStats } from "../hooks/useServerStats";
import { useTheme } from "../hooks/useTheme";
import { TimeZoneContext, useTimeZone } from "../hooks/useTimeZone";
import type { Api, Session } from "../lib/api";
import { displayColumns } from "../lib/columns";
import type { DashboardModel } from "../lib/entityModel";
import { formatClock, type TimeZoneMode } from "../lib/format";
import { matchesSearch } from "../lib/search";
import { eventsPerSecond, STREAM_CAP } from "../lib/store";
import type { ColumnConfig, DbEvent, EntityConfig, EventType, Subscription } from "../lib/types";
import { AlertsMenu } from "./AlertsMenu";
import { ConnectionStatus } from "./ConnectionStatus";
import { CurrentRowsTable, EntityViewSwitch } from "./CurrentRowsTable";
import { EventTable } from "./EventTable";
import { StatsCards } from "./StatsCards";
import { TimeZoneToggle } from "./TimeZoneToggle";
import { EVENT_TYPES, Toolbar, type View } from "./Toolbar";

const NO_COLUMNS: ColumnConfig[] = [];

export interface DashboardProps {
  readonly title: string;
  readonly model: DashboardModel;
  readonly session: Session;
  readonly api: Api;
}

/** The page's time zone (UTC or local, remembered) wraps the whole dashboard: every cell reads it. */
export function Dashboard(props: DashboardProps) {
  const [zone, setZone] = useTimeZone();
  return (
    <TimeZoneContext value={zone}>
      <DashboardView {...props} zone={zone} onZone={setZone} />
    </TimeZoneContext>
  );
}

function DashboardView({
  title,
  model,
  session,
  api,
  zone,
  onZone,
}: DashboardProps & { zone: TimeZoneMode; onZone: (zone: TimeZoneMode) => void }) {
  const { entities, features } = model;
  const entityByName = useMemo(() => new Map(entities.map((entity) => [entity.name, entity])), [entities]);
  const [hidden, setHidden] = usePersistentState<string[]>("dashboard.hiddenEntities", []);
  const [hiddenTypes, setHiddenTypes] = usePersistentState<string[]>("dashboard.hiddenEventTypes", []);
  const [view, setView] = usePersistentState<View>("dashboard.view", "tables");
  // Entities shown as their current rows instead of their event log.
  const [rowViews, setRowViews] = usePersistentState<string[]>("dashboard.currentRows", []);
  // The stream carries only what the filters show (the rest is only counted, for the statistics).
  const subscription = pageSubscription(entities, features.filters ? hidden : [], hiddenTypes, view === "tables" ? rowViews : []);
  const realtime = useRealtimeData({ entities, subscription });
  const server = useServerStats(api);
  const alerts = useAlerts(api, realtime.onAlert);
  const { data, status, paused, pending } = realtime;
  const [query, setQuery] = useState("");
  const search = useDebounced(query.trim().toLowerCase(), 200);
  const [dark, toggleTheme] = useTheme();

  const visible = features.filters ? entities.filter((entity) => !hidden.includes(entity.name)) : entities;
  const rate = eventsPerSecond(data);
  // Before any live event: the newest one loaded from history, not "none yet" beside full tables.
  const lastEventAt = data.lastEventAt ?? data.stream[0]?.timestamp ?? null;

  const filtered = useMemo(() => {
    const byEntity = new Map<string, DbEvent[]>();
    const typeShown = (event: DbEvent) => !hiddenTypes.includes(event.event_type);
    for (const entity of entities) {
      const rows = data.byEntity[entity.name] ?? [];
      const filtering = search || hiddenTypes.length > 0;
      byEntity.set(
        entity.name,
        filtering ? rows.filter((event) => typeShown(event) && (!search || matchesSearch(event, entity, search))) : [...rows],
      );
    }
    const visibleNames = new Set(visible.map((entity) => entity.name));
    const stream = data.stream.filter((event) => {
      const entity = entityByName.get(event.entity);
      return (
        entity !== undefined &&
        visibleNames.has(entity.name) &&
        typeShown(event) &&
        (!search || matchesSearch(event, entity, search))
      );
    });
    return { byEntity, stream };
  }, [data, search, visible, entities, entityByName, hiddenTypes]);

  const toggleEntity = (name: string) =>
    setHidden(hidden.includes(name) ? hidden.filter((item) => item !== name) : [...hidden, name]);
  const toggleType = (type: EventType) =>
    setHiddenTypes(hiddenTypes.includes(type) ? hiddenTypes.filter((item) => item !== type) : [...hiddenTypes, type]);

  return (
    <div className="mx-auto flex max-w-screen-2xl flex-col gap-4 p-3 sm:p-5">
      <header className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">{title}</h1>
        <ConnectionStatus status={status} />
        <AlertsMenu board={alerts.board} notifier={alerts.notifier} />
        <span className="text-sm text-slate-600 dark:text-slate-300" data-testid="last-event">
          Last event: {lastEventAt === null ? "none yet" : formatClock(lastEventAt, zone)}
        </span>
        <span className="text-sm tabular-nums text-slate-600 dark:text-slate-300" data-testid="rate">
          {rate.toFixed(1)} events/s
        </span>
        <TimeZoneToggle zone={zone} onZone={onZone} />
        <span className="ml-auto flex gap-2">
          {features.darkMode ? (
            <button
              type="button"
              onClick={toggleTheme}
              aria-pressed={dark}
              className="rounded border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
            >
              {dark ? "☀️ Light" : "🌙 Dark"}
            </button>
          ) : null}
          {session.required ? (
            <button
              type="button"
              onClick={() => void api.signOut()}
              className="rounded border border-slate-300 px-3 py-1 text-sm dark:border-slate-700"
            >
              Sign out
            </button>
          ) : null}
        </span>
      </header>

      {features.statistics ? <StatsCards entities={visible} data={data} server={server} /> : null}

      <Toolbar
        entities={entities}
        features={features}
        hidden={hidden}
        onToggleEntity={toggleEntity}
        hiddenTypes={hiddenTypes}
        onToggleType={toggleType}
        query={query}
        onQuery={setQuery}
        view={view}
        onView={setView}
        paused={paused}
        pending={pending}
        onPause={realtime.pause}
        onResume={realtime.resume}
      />

      <main className={view === "tables" ? "grid grid-cols-1 gap-4 xl:grid-cols-2" : "flex flex-col"}>
        {view === "tables" ? (
          visible.map((entity) => (
            <div key={entity.name} className="flex min-w-0 flex-col">
              <EntityViewSwitch
                entity={entity}
                mode={rowViews.includes(entity.name) ? "rows" : "events"}
                onMode={(mode) =>
                  setRowViews([...rowViews.filter((name) => name !== entity.name), ...(mode === "rows" ? [entity.name] : [])])
                }
              />
              {rowViews.includes(entity.name) ? (
                <CurrentRowsTable api={api} entity={entity} watchEvents={realtime.watchEvents} search={search} />
              ) : (
                <EventTable
                  testId={`table-${entity.name}`}
                  title={`${entity.icon} ${entity.name}`}
                  color={entity.color}
                  events={filtered.byEntity.get(entity.name) ?? []}
                  buffered={data.byEntity[entity.name]?.length ?? 0}
                  capacity={entity.maxRecords}
                  entity={entity}
                  columns={displayColumns(entity)}
                  autoScroll={features.autoScroll}
                  exportCsv={features.exportCsv}
                />
              )}
            </div>
          ))
        ) : (
          <EventTable
            testId="table-stream"
            title="All changes"
            events={filtered.stream}
            buffered={data.stream.length}
            capacity={STREAM_CAP}
            columns={NO_COLUMNS}
            csvFields={[...new Set(visible.flatMap((entity) => entity.displayFields))]}
            entities={entityByName}
            autoScroll={features.autoScroll}
            exportCsv={features.exportCsv}
          />
        )}
      </main>
    </div>
  );
}

/**
 * What the page asks the server for: the entities not hidden, the event types
 * not hidden, except that a visible entity shown as its current rows needs
 * every event type (an update moves a row even when updates are not listed).
 */
export function pageSubscription(
  entities: readonly EntityConfig[],
  hidden: readonly string[],
  hiddenTypes: readonly string[],
  rowViews: readonly string[],
): Subscription {
  const shown = entities.filter((entity) => !hidden.includes(entity.name)).map((entity) => entity.name);
  const needsAllTypes = shown.some((name) => rowViews.includes(name));
  const types = EVENT_TYPES.filter((type) => !hiddenTypes.includes(type));
  return {
    entities: shown.length === entities.length ? null : shown,
    types: needsAllTypes || types.length === EVENT_TYPES.length ? null : types,
  };
}
