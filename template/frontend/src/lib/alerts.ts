/**
 * The page's view of the alert rules: their states from `GET /api/alerts`, kept
 * current by the WebSocket's `alert` messages, with each rule's recent state
 * changes (bounded: {@link HISTORY_LIMIT} per rule, in memory only).
 */

import { parseAlertStatus } from "./protocol";
import type { AlertState, AlertStatus, JsonValue } from "./types";

export const HISTORY_LIMIT = 50;

export interface AlertChange {
  readonly state: AlertState;
  readonly since: string;
  readonly value: JsonValue;
}

export interface AlertRuleView extends AlertStatus {
  /** Oldest first, at most {@link HISTORY_LIMIT}. */
  readonly history: readonly AlertChange[];
}

/** The rules in dashboard.yaml's order. */
export type AlertBoard = readonly AlertRuleView[];

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function parseChange(value: unknown): AlertChange | null {
  if (!isRecord(value) || typeof value.since !== "string") return null;
  if (value.state !== "ok" && value.state !== "firing") return null;
  return { state: value.state, since: value.since, value: (value.value ?? null) as JsonValue };
}

/** The body of `GET /api/alerts`; malformed items are left out. */
export function parseAlertList(body: unknown): AlertRuleView[] {
  if (!Array.isArray(body)) throw new Error("/api/alerts: expected a list");
  const rules: AlertRuleView[] = [];
  for (const item of body) {
    const status = parseAlertStatus(item);
    if (status === null) continue;
    const history = isRecord(item) && Array.isArray(item.history) ? item.history : [];
    rules.push({ ...status, history: bounded(history.map(parseChange).filter((c) => c !== null)) });
  }
  return rules;
}

function bounded(history: readonly AlertChange[]): AlertChange[] {
  return history.slice(Math.max(0, history.length - HISTORY_LIMIT));
}

const key = (change: AlertChange) => `${change.since}|${change.state}`;

/** The server's list (it decides the states) with the changes this page saw but the server no longer lists. */
export function mergeServer(current: AlertBoard, fresh: readonly AlertRuleView[]): AlertBoard {
  const known = new Map(current.map((rule) => [rule.name, rule]));
  return fresh.map((rule) => {
    const before = known.get(rule.name);
    if (before === undefined) return rule;
    const seen = new Set(rule.history.map(key));
    const merged = [...before.history.filter((change) => !seen.has(key(change))), ...rule.history];
    merged.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0));
    return { ...rule, history: bounded(merged) };
  });
}

/** One `alert` message applied; `changed` is false when it told nothing new (already known). */
export function applyAlert(board: AlertBoard, alert: AlertStatus): { board: AlertBoard; changed: boolean } {
  const index = board.findIndex((rule) => rule.name === alert.name);
  const change: AlertChange = { state: alert.state, since: alert.since, value: alert.value };
  const rule = board[index];
  if (rule === undefined) return { board: [...board, { ...alert, history: [change] }], changed: true };
  if (rule.history.some((entry) => key(entry) === key(change))) return { board, changed: false };
  const next = board.slice();
  next[index] = { ...alert, history: bounded([...rule.history, change]) };
  return { board: next, changed: true };
}

export function firingRules(board: AlertBoard): AlertRuleView[] {
  return board.filter((rule) => rule.state === "firing");
}

export function formatValue(value: JsonValue): string {
  if (value === null) return "–";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A browser notification's title and body for a rule that started firing. */
export function notificationFor(alert: AlertStatus): { title: string; body: string } {
  const where = alert.entity ? `${alert.entity}: ` : "";
  return { title: `Alert firing: ${alert.name}`, body: `${where}${alert.when} (value ${formatValue(alert.value)})` };
}

/** Browser notifications, when the browser has them and the user allowed them. */
export interface Notifier {
  readonly supported: boolean;
  readonly permission: () => NotificationPermission;
  readonly request: () => Promise<NotificationPermission>;
  readonly show: (title: string, body: string) => void;
}

export function browserNotifier(): Notifier {
  const api = typeof window !== "undefined" && "Notification" in window ? window.Notification : null;
  return {
    supported: api !== null,
    permission: () => (api === null ? "denied" : api.permission),
    request: async () => (api === null ? "denied" : await api.requestPermission()),
    show: (title, body) => {
      if (api === null || api.permission !== "granted") return;
      try {
        new api(title, { body, tag: title });
      } catch {
        // Some browsers allow notifications from a service worker only: the header still shows the alert.
      }
    },
  };
}
