import { memo, useMemo, useState } from "react";
import { useAlerts } from "../hooks/useAlerts";
import { useDebounced } from "../hooks/useDebounced";
import { useHistory } from "../hooks/useHistory";
import { type Pace, usePaced } from "../hooks/usePaced";
import { usePersistentState } from "../hooks/usePersistentState";
import { usePlayback } from "../hooks/usePlayback";
import { useRangeExport } from "../hooks/useRangeExport";
import { useRealtimeData } from "../hooks/useRealtimeData";
import { useServerStats } from "../hooks/useServerStats";
import { useTheme } from "../hooks/useTheme";
import { TimeZoneContext, useTimeZone } from "../hooks/useTimeZone";
import type { Api, Session } from "../lib/api";
import { displayColumns } from "../lib/columns";
import type { DashboardModel } from "../lib/entityModel";
import { formatClock, type TimeZoneMode } from "../lib/format";
import type { HistoryFilter } from "../lib/history";
import { matchesSearch } from "../lib/search";
import { eventsPerSecond, STREAM_CAP } from "../lib/store";
import type { ColumnConfig, DbEvent, EntityConfig, EventType, Subscription } from "../lib/types";
import { AlertsMenu } from "./AlertsMenu";
import { ConnectionStatus } from "./ConnectionStatus";
import { CurrentRowsTable, EntityViewSwitch } from "./CurrentRowsTable";
import { EventTable } from "./EventTable";
import { HistoryBar } from "./HistoryBar";
import { type Mode, ModeSwitch } from "./ModeSwitch";
import { PlaybackBar } from "./PlaybackBar";
import { StatsCards } from "./StatsCards";
import { TimeZoneToggle } from "./TimeZoneToggle";
import { EVENT_TYPES, Toolbar, type View } from "./Toolbar";

const NO_COLUMNS: ColumnConfig[] = [];
/**
 * How often the live views draw what arrived (hooks/usePaced.ts): a table at most 4 times
 * a second, each in its own phase; the statistics once a second. At 1,000 events/s a
 * table's rows in view are all new at every batch, so its cost is per render, not per event.
 */
const TABLE_PERIOD_MS = 250;
const STATS_PACE: Pace = { periodMs: 1000, slot: 1, slots: 32 };
const tablePace = (index: number, count: number): Pace => ({ periodMs: TABLE_PERIOD_MS, slot: index, slots: Math.max(1, count) });
/** Re-rendered only when its paced data (or the server's counts) change. */
const PacedStatsCards = memo(StatsCards);
/** The server's limit on the text filter. */
const MAX_QUERY = 200;

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
  // Live, History (a range read page by page) or Playback (a range replayed into the live views).
  // The live stream runs on in every mode: back to live shows everything that arrived meanwhile.
  const [mode, setMode] = useState<Mode>("live");
  const [pageSize, setPageSize] = usePersistentState<number>("dashboard.historyPageSize", 500);

  // Stable between renders: the histogram is drawn again only when it changes.
  const visible = useMemo(
    () => (features.filters ? entities.filter((entity) => !hidden.includes(entity.name)) : entities),
    [features.filters, entities, hidden],
  );
  // History mode filters on the server: the same entity, type and text filters as the live views.
  const historyFilter: HistoryFilter = {
    entities: features.filters && hidden.length > 0 && visible.length > 0 ? visible.map((entity) => entity.name) : null,
    eventTypes: hiddenTypes.length > 0 && hiddenTypes.length < EVENT_TYPES.length ? EVENT_TYPES.filter((type) => !hiddenTypes.includes(type)) : null,
    q: search.slice(0, MAX_QUERY),
  };
  const history = useHistory({ api, active: mode === "history", filter: historyFilter, pageSize });
  const playback = usePlayback(api, entities);
  const rangeExport = useRangeExport(api);
  const shown = mode === "playback" ? playback.data : data;
  const rate = eventsPerSecond(shown);
  // Before any live event: the newest one loaded from history, not "none yet" beside full tables.
  const lastEventAt = shown.lastEventAt ?? shown.stream[0]?.timestamp ?? null;

  const filtered = useMemo(() => {
    // Unfiltered, a table gets the buffer itself: no copy of up to max_records events per batch.
    const byEntity = new Map<string, readonly DbEvent[]>();
    const typeShown = (event: DbEvent) => !hiddenTypes.includes(event.event_type);
    for (const entity of entities) {
      const rows = shown.byEntity[entity.name] ?? [];
      const filtering = search || hiddenTypes.length > 0;
      byEntity.set(
        entity.name,
        filtering ? rows.filter((event) => typeShown(event) && (!search || matchesSearch(event, entity, search))) : rows,
      );
    }
    const visibleNames = new Set(visible.map((entity) => entity.name));
    const stream = shown.stream.filter((event) => {
      const entity = entityByName.get(event.entity);
      return (
        entity !== undefined &&
        visibleNames.has(entity.name) &&
        typeShown(event) &&
        (!search || matchesSearch(event, entity, search))
      );
    });
    return { byEntity, stream };
  }, [shown, search, visible, entities, entityByName, hiddenTypes]);

  // History mode: the page as the server filtered it (text included), split per entity.
  const historyPage = history.page;
  const paged = useMemo(() => {
    const byEntity = new Map<string, DbEvent[]>(entities.map((entity) => [entity.name, []]));
    const visibleNames = new Set(visible.map((entity) => entity.name));
    const stream: DbEvent[] = [];
    for (const event of historyPage?.events ?? []) {
      if (hiddenTypes.includes(event.event_type)) continue;
      byEntity.get(event.entity)?.push(event);
      if (visibleNames.has(event.entity)) stream.push(event);
    }
    return { byEntity, stream };
  }, [historyPage, entities, visible, hiddenTypes]);
  const inHistory = mode === "history";
  // History pages change when asked for: drawn at once. Live and Playback stream: paced.
  const paced = !inHistory;
  const statsData = usePaced(data, STATS_PACE);
  const streamFields = useMemo(() => [...new Set(visible.flatMap((entity) => entity.displayFields))], [visible]);
  const tables = inHistory ? paged : filtered;
  const emptyText = !inHistory
    ? undefined
    : history.page === null || history.loading
      ? "Loading…"
      : "No events here in this range and page.";
  const exportRange = (title: string, names: readonly string[] | null, fields: readonly string[]) =>
    history.range &&
    rangeExport.exportRange(title, history.range, { ...historyFilter, entities: names ?? historyFilter.entities }, fields);
  const toLive = () => {
    playback.stop();
    setMode("live");
  };

  const toggleEntity = (name: string) =>
    setHidden(hidden.includes(name) ? hidden.filter((item) => item !== name) : [...hidden, name]);
  const toggleType = (type: EventType) =>
    setHiddenTypes(hiddenTypes.includes(type) ? hiddenTypes.filter((item) => item !== type) : [...hiddenTypes, type]);

  return (
    <div className="mx-auto flex max-w-screen-2xl flex-col gap-4 p-3 sm:p-5">
      <header className="flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">{title}</h1>
        <ModeSwitch
          mode={mode}
          onMode={(next) => {
            playback.stop();
            setMode(next);
          }}
        />
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

      {features.statistics && mode === "live" ? <PacedStatsCards entities={visible} data={statsData} server={server} /> : null}

      {mode === "history" ? (
        <HistoryBar
          history={history}
          entities={visible}
          pageSize={pageSize}
          onPageSize={setPageSize}
          exportStatus={rangeExport.status}
          onPlay={(range, speed) => {
            playback.start(range, speed);
            setMode("playback");
          }}
        />
      ) : null}
      {mode === "playback" ? (
        <PlaybackBar
          playback={playback}
          onLive={toLive}
          onHistory={() => {
            playback.stop();
            setMode("history");
          }}
        />
      ) : null}

      <Toolbar
        entities={entities}
        // Pausing is for the live stream; playback has its own pause.
        features={mode === "live" ? features : { ...features, pause: false }}
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
          visible.map((entity, index) => (
            <div key={entity.name} className="flex min-w-0 flex-col">
              {mode === "live" ? (
                <EntityViewSwitch
                  entity={entity}
                  mode={rowViews.includes(entity.name) ? "rows" : "events"}
                  onMode={(next) =>
                    setRowViews([...rowViews.filter((name) => name !== entity.name), ...(next === "rows" ? [entity.name] : [])])
                  }
                />
              ) : null}
              {mode === "live" && rowViews.includes(entity.name) ? (
                <CurrentRowsTable
                  api={api}
                  entity={entity}
                  watchEvents={realtime.watchEvents}
                  search={search}
                  pace={tablePace(index, visible.length)}
                />
              ) : (
                <EventTable
                  testId={`table-${entity.name}`}
                  title={`${entity.icon} ${entity.name}`}
                  color={entity.color}
                  events={tables.byEntity.get(entity.name) ?? []}
                  buffered={inHistory ? undefined : (shown.byEntity[entity.name]?.length ?? 0)}
                  capacity={inHistory ? undefined : entity.maxRecords}
                  emptyText={emptyText}
                  onExportCsv={
                    inHistory ? () => exportRange(entity.name, [entity.name], displayColumns(entity).map((c) => c.name)) : undefined
                  }
                  entity={entity}
                  columns={displayColumns(entity)}
                  autoScroll={features.autoScroll}
                  exportCsv={features.exportCsv}
                  pace={paced ? tablePace(index, visible.length) : undefined}
                />
              )}
            </div>
          ))
        ) : (
          <EventTable
            testId="table-stream"
            title="All changes"
            events={tables.stream}
            buffered={inHistory ? undefined : shown.stream.length}
            capacity={inHistory ? undefined : STREAM_CAP}
            emptyText={emptyText}
            onExportCsv={
              inHistory
                ? () => exportRange("All changes", null, streamFields)
                : undefined
            }
            columns={NO_COLUMNS}
            csvFields={streamFields}
            entities={entityByName}
            autoScroll={features.autoScroll}
            exportCsv={features.exportCsv}
            pace={paced ? tablePace(0, 1) : undefined}
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
