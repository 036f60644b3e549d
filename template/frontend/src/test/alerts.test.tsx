import { act, cleanup, fireEvent, render, renderHook, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { AlertsMenu } from "../components/AlertsMenu";
import { useAlerts } from "../hooks/useAlerts";
import { useRealtimeData } from "../hooks/useRealtimeData";
import {
  type AlertBoard,
  applyAlert,
  HISTORY_LIMIT,
  mergeServer,
  type Notifier,
  notificationFor,
  parseAlertList,
} from "../lib/alerts";
import { Api } from "../lib/api";
import { parseServerMessage } from "../lib/protocol";
import type { AlertStatus } from "../lib/types";
import { orderEntities, ProtocolServer } from "./protocolServer";

const status = (name: string, state: "ok" | "firing", since: string, value: AlertStatus["value"] = 0): AlertStatus => ({
  name,
  state,
  since,
  value,
  entity: "Order",
  kind: "field",
  when: "total_price > 100000",
});

/** A notifier recording what it shows (jsdom has no Notification). */
function recordingNotifier(permission: NotificationPermission = "granted") {
  const shown: { title: string; body: string }[] = [];
  let current = permission;
  const notifier: Notifier = {
    supported: true,
    permission: () => current,
    request: async () => {
      current = "granted";
      return current;
    },
    show: (title, body) => {
      if (current === "granted") shown.push({ title, body });
    },
  };
  return { notifier, shown };
}

describe("alert messages and lists", () => {
  it("reads an alert message and skips a malformed one", () => {
    const alert = status("big", "firing", "2024-01-01T00:00:00.000Z", 250000);
    expect(parseServerMessage(JSON.stringify({ type: "alert", alert }))).toEqual({ type: "alert", alert });
    expect(parseServerMessage(JSON.stringify({ type: "alert", alert: { ...alert, state: "pending" } }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: "alert" }))).toBeNull();
  });

  it("reads /api/alerts with each rule's history, leaving out malformed items", () => {
    const rules = parseAlertList([
      { ...status("big", "ok", "2024-01-01T00:00:02.000Z"), history: [{ state: "firing", since: "2024-01-01T00:00:01.000Z", value: 5 }] },
      { name: 7 },
    ]);
    expect(rules.map((rule) => [rule.name, rule.state, rule.history.length])).toEqual([["big", "ok", 1]]);
    expect(() => parseAlertList({})).toThrow("/api/alerts");
  });

  it("applies changes once, keeps a bounded history, and merges the server's list", () => {
    let board: AlertBoard = parseAlertList([{ ...status("big", "ok", "2024-01-01T00:00:00.000Z"), history: [] }]);
    for (let second = 0; second < HISTORY_LIMIT + 10; second += 1) {
      const since = new Date(Date.UTC(2024, 0, 1, 0, 1, second)).toISOString();
      const applied = applyAlert(board, status("big", second % 2 === 0 ? "firing" : "ok", since, second));
      expect(applied.changed).toBe(true);
      board = applied.board;
    }
    const [rule] = board;
    const last = rule?.history.at(-1);
    expect(rule?.history).toHaveLength(HISTORY_LIMIT);
    if (rule === undefined || last === undefined) throw new Error("no rule");
    expect(applyAlert(board, { ...rule, ...last }).changed).toBe(false); // the same change again
    // A reload of /api/alerts: the server's state wins, the page's longer history stays.
    const [merged] = mergeServer(board, parseAlertList([{ ...status("big", "ok", "2024-01-01T01:00:00.000Z"), history: [] }]));
    expect(merged?.state).toBe("ok");
    expect(merged?.since).toBe("2024-01-01T01:00:00.000Z");
    expect(merged?.history).toHaveLength(HISTORY_LIMIT);
    expect(notificationFor(status("big", "firing", "x", 250000))).toEqual({
      title: "Alert firing: big",
      body: "Order: total_price > 100000 (value 250000)",
    });
  });
});

describe("AlertsMenu", () => {
  afterEach(cleanup);

  it("shows nothing without rules", () => {
    const { container } = render(<AlertsMenu board={[]} notifier={recordingNotifier().notifier} />);
    expect(container.textContent).toBe("");
  });

  it("shows the firing count in the header and every rule, firing first, with its history", () => {
    const board = parseAlertList([
      { ...status("quiet", "ok", "2024-01-01T00:00:00.000Z"), history: [] },
      {
        ...status("big", "firing", "2024-01-01T00:00:05.000Z", 250000),
        history: [{ state: "firing", since: "2024-01-01T00:00:05.000Z", value: 250000 }],
      },
    ]);
    const { notifier } = recordingNotifier("default");
    render(<AlertsMenu board={board} notifier={notifier} />);
    const button = screen.getByTestId("alerts-button");
    expect(button.textContent).toBe("🔔 1 firing");
    expect(button.getAttribute("title")).toBe("big");
    fireEvent.click(button);
    const items = screen.getByTestId("alerts-panel").querySelectorAll("li[data-state]");
    expect([...items].map((item) => [item.getAttribute("data-testid"), item.getAttribute("data-state")])).toEqual([
      ["alert-big", "firing"],
      ["alert-quiet", "ok"],
    ]);
    expect(screen.getByTestId("alert-history-big").textContent).toContain("firing (value 250000)");
    expect(screen.getByText("Notify me in this browser when an alert fires")).toBeTruthy();
  });

  it("says all is well when nothing fires", () => {
    const board = parseAlertList([{ ...status("quiet", "ok", "2024-01-01T00:00:00.000Z"), history: [] }]);
    render(<AlertsMenu board={board} notifier={recordingNotifier().notifier} />);
    expect(screen.getByTestId("alerts-button").textContent).toBe("🔕 Alerts ok");
  });
});

describe("useAlerts", () => {
  let server: ProtocolServer;
  let baseUrl: string;

  beforeEach(async () => {
    server = new ProtocolServer();
    baseUrl = await server.start();
  });

  afterEach(async () => {
    cleanup();
    await server.stop();
  });

  it("loads /api/alerts, follows alert messages on the socket and notifies when a rule starts firing", async () => {
    server.alerts = [{ ...status("big", "ok", "2024-01-01T00:00:00.000Z"), history: [] }];
    const api = new Api({ baseUrl, onSignedOut: () => undefined });
    const { notifier, shown } = recordingNotifier();
    const openSocket = (url: string) => new NodeWebSocket(url) as unknown as WebSocket;
    const entities = orderEntities(3);
    const { result } = renderHook(() => {
      const realtime = useRealtimeData({ entities, baseUrl, historyLimit: 0, random: () => 0, openSocket });
      return { realtime, alerts: useAlerts(api, realtime.onAlert, { notifier }) };
    });
    await waitFor(() => expect(result.current.alerts.board.map((rule) => rule.state)).toEqual(["ok"]));
    await waitFor(() => expect(result.current.realtime.status.state).toBe("live"));
    const firing = status("big", "firing", "2024-01-01T00:00:10.000Z", 250000);
    act(() => server.message(server.latest, { type: "alert", alert: firing }));
    await waitFor(() => expect(result.current.alerts.board[0]?.state).toBe("firing"));
    expect(shown).toEqual([notificationFor(firing)]);
    act(() => server.message(server.latest, { type: "alert", alert: firing })); // again: nothing new
    act(() => server.message(server.latest, { type: "alert", alert: status("big", "ok", "2024-01-01T00:00:20.000Z") }));
    await waitFor(() => expect(result.current.alerts.board[0]?.state).toBe("ok"));
    expect(result.current.alerts.board[0]?.history.map((change) => change.state)).toEqual(["firing", "ok"]);
    expect(shown).toHaveLength(1);
    expect(server.alertRequests).toEqual(["/api/alerts"]);
  });
});
