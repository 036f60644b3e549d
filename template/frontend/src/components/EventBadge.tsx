const STYLES: Record<string, string> = {
  insert: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200",
  update: "bg-sky-100 text-sky-800 dark:bg-sky-900/60 dark:text-sky-200",
  delete: "bg-rose-100 text-rose-800 dark:bg-rose-900/60 dark:text-rose-200",
};

export function EventBadge({ type }: { type: string }) {
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STYLES[type] ?? "bg-slate-200 text-slate-700"}`}>
      {type}
    </span>
  );
}

export function EntityBadge({ name, color, icon }: { name: string; color: string; icon: string }) {
  return (
    <span className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium text-white" style={{ backgroundColor: color }}>
      <span aria-hidden="true">{icon}</span>
      {name}
    </span>
  );
}
