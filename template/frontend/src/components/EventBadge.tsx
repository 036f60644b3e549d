import type { EventType } from "../lib/types";

const STYLES: Record<string, string> = {
  insert: "bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200",
  update: "bg-sky-100 text-sky-800 dark:bg-sky-900/60 dark:text-sky-200",
  delete: "bg-rose-100 text-rose-800 dark:bg-rose-900/60 dark:text-rose-200",
};

export const EVENT_TYPE_STYLES: Readonly<Record<EventType, string>> = {
  insert: STYLES.insert ?? "",
  update: STYLES.update ?? "",
  delete: STYLES.delete ?? "",
};

export function EventBadge({ type }: { type: string }) {
  return (
    <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STYLES[type] ?? "bg-slate-200 text-slate-700"}`}>
      {type}
    </span>
  );
}

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((index) => Number.parseInt(hex.slice(index, index + 2), 16) / 255);
  const [r = 0, g = 0, b = 0] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** White or near-black text, whichever reads better on `background` (a #rrggbb a user may have chosen). */
export function textOn(background: string): string {
  if (!/^#[0-9a-fA-F]{6}$/.test(background)) return "#ffffff";
  const light = luminance(background);
  return 1.05 / (light + 0.05) >= (light + 0.05) / 0.05 ? "#ffffff" : "#0f172a";
}

export function EntityBadge({ name, color, icon }: { name: string; color: string; icon: string }) {
  return (
    <span
      className="inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium"
      style={{ backgroundColor: color, color: textOn(color) }}
    >
      <span aria-hidden="true">{icon}</span>
      {name}
    </span>
  );
}
