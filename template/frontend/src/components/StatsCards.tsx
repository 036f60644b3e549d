import { useContext, useState } from "react";
import type { ServerStats } from "../hooks/useServerStats";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { formatClock, formatDateTime } from "../lib/format";
import type { DashboardData, EntityCounts } from "../lib/store";
import type { EntityConfig } from "../lib/types";
import { Sparkline } from "./Sparkline";

const number = new Intl.NumberFormat();
const ZERO: EntityCounts = { insert: 0, update: 0, delete: 0 };

/**
 * The counts a card shows: the backend's (since it started) plus what the page
 * received live since those were fetched, so they move with every event and not
 * only when /api/stats is polled again. Before the backend answers: the page's own.
 */
function shownCounts(
  entity: string,
  data: DashboardData,
  server: ServerStats,
  base: Readonly<Record<string, EntityCounts>>,
): EntityCounts {
  const local = data.counts[entity] ?? ZERO;
  const remote = server.entities[entity];
  if (remote?.inserts === undefined || server.since === null) return local;
  const before = base[entity] ?? ZERO;
  return {
    insert: (remote.inserts ?? 0) + Math.max(0, local.insert - before.insert),
    update: (remote.updates ?? 0) + Math.max(0, local.update - before.update),
    delete: (remote.deletes ?? 0) + Math.max(0, local.delete - before.delete),
  };
}

export function StatsCards(props: { entities: readonly EntityConfig[]; data: DashboardData; server: ServerStats }) {
  const { entities, data, server } = props;
  const zone = useContext(TimeZoneContext);
  // The page's counts when the backend's last arrived (adjusting state during render, as React documents).
  const [base, setBase] = useState({ server, counts: data.counts });
  if (base.server !== server) setBase({ server, counts: data.counts });
  const startedIso = server.since === null ? null : new Date(server.since * 1000).toISOString();
  // A start earlier today shows its time; an older one its date too.
  const recent = server.since !== null && Date.now() - server.since * 1000 < 12 * 3600 * 1000;
  const since =
    startedIso === null
      ? "since this page opened"
      : `since the backend started (${recent ? formatClock(startedIso, zone) : formatDateTime(startedIso, zone)})`;
  return (
    <section aria-label="Statistics" className="flex flex-col gap-1">
      <p className="text-xs text-slate-600 dark:text-slate-300" data-testid="stats-since">
        Rows in each table now; inserts, updates and deletes{" "}
        <span title={startedIso === null ? undefined : formatDateTime(startedIso, zone)}>
          {since}
        </span>
      </p>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-4">
        {entities.map((entity) => {
          const counts = shownCounts(entity.name, data, server, base.counts);
          const perSecond = data.perSecond[entity.name] ?? [];
          const lastMinute = perSecond.reduce((sum, value) => sum + value, 0) / perSecond.length || 0;
          const total = server.entities[entity.name]?.total_rows;
          return (
            <article
              key={entity.name}
              data-testid={`stats-${entity.name}`}
              className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900"
              style={{ borderTopColor: entity.color, borderTopWidth: 4 }}
            >
              <h2 className="flex items-center gap-2 text-sm font-semibold">
                <span aria-hidden="true">{entity.icon}</span>
                {entity.name}
                <span className="ml-auto text-xs font-normal text-slate-600 dark:text-slate-300">{entity.table}</span>
              </h2>
              <p className="mt-2 text-2xl font-bold tabular-nums">
                {total === undefined || total === null ? "—" : number.format(total)}
                <span className="text-sm font-normal text-slate-600 dark:text-slate-300">
                  {server.entities[entity.name]?.rows_estimated ? " rows (est.)" : " rows"}
                </span>
              </p>
              <dl className="mt-1 grid grid-cols-3 gap-1 text-xs text-slate-600 dark:text-slate-300">
                <div>
                  <dt>Inserts</dt>
                  <dd className="font-semibold tabular-nums">{number.format(counts.insert)}</dd>
                </div>
                <div>
                  <dt>Updates</dt>
                  <dd className="font-semibold tabular-nums">{number.format(counts.update)}</dd>
                </div>
                <div>
                  <dt>Deletes</dt>
                  <dd className="font-semibold tabular-nums">{number.format(counts.delete)}</dd>
                </div>
              </dl>
              <div className="mt-2 flex items-end justify-between gap-2">
                <span className="text-xs text-slate-600 dark:text-slate-300">{lastMinute.toFixed(1)}/s last minute</span>
                <Sparkline values={perSecond} color={entity.color} label={`${entity.name} events per second`} />
              </div>
            </article>
          );
        })}
      </div>
    </section>
  );
}
