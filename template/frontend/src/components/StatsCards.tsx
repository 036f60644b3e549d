import type { ServerEntityStats } from "../hooks/useServerStats";
import type { DashboardData } from "../lib/store";
import type { EntityConfig } from "../lib/types";
import { Sparkline } from "./Sparkline";

const number = new Intl.NumberFormat();

export function StatsCards(props: {
  entities: readonly EntityConfig[];
  data: DashboardData;
  server: Record<string, ServerEntityStats>;
}) {
  const { entities, data, server } = props;
  return (
    <section aria-label="Statistics" className="grid grid-cols-1 gap-3 sm:grid-cols-2 xl:grid-cols-4">
      {entities.map((entity) => {
        const counts = data.counts[entity.name] ?? { insert: 0, update: 0, delete: 0 };
        const perSecond = data.perSecond[entity.name] ?? [];
        const lastMinute = perSecond.reduce((sum, value) => sum + value, 0) / perSecond.length || 0;
        const total = server[entity.name]?.total_rows;
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
              <span className="ml-auto text-xs font-normal text-slate-500 dark:text-slate-400">{entity.table}</span>
            </h2>
            <p className="mt-2 text-2xl font-bold tabular-nums" title="rows in the table">
              {total === undefined || total === null ? "—" : number.format(total)}
              {server[entity.name]?.rows_estimated ? <span className="text-sm font-normal"> (est.)</span> : null}
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
              <span className="text-xs text-slate-500 dark:text-slate-400">{lastMinute.toFixed(1)}/s last minute</span>
              <Sparkline values={perSecond} color={entity.color} label={`${entity.name} events per second`} />
            </div>
          </article>
        );
      })}
    </section>
  );
}
