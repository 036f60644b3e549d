// @vitest-environment node
// Per-client subscriptions: the URL the client asks with, the reconnect from the resume
// point when the page's filter changes, the backfill of what it gained, and the counts of
// what the server did not send. A real ws/http server speaks the protocol.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { pageSubscription } from "../components/Dashboard";
import { EVERYTHING, historyUrl, parseServerMessage, socketUrl, widened } from "../lib/protocol";
import { RealtimeClient, type RealtimeClientOptions } from "../lib/realtimeClient";
import type { DbEvent, EntityConfig } from "../lib/types";
import { orderEntities, orderEvent, ProtocolServer } from "./protocolServer";

const openSocket = (url: string) => new NodeWebSocket(url) as unknown as WebSocket;
const WAIT = { timeout: 4000, interval: 10 };

function twoEntities(): EntityConfig[] {
  const [order] = orderEntities(5);
  if (order === undefined) throw new Error("no Order entity");
  return [order, { ...order, name: "Customer", table: "customers", maxRecords: 4 }];
}
const customerEvent = (id: number): DbEvent => ({ ...orderEvent(id), entity: "Customer" });

let server: ProtocolServer;
let baseUrl: string;
const clients: RealtimeClient[] = [];

beforeEach(async () => {
  server = new ProtocolServer();
  baseUrl = await server.start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.stop();
  await server.stop();
});

function connect(options: Partial<RealtimeClientOptions> = {}): RealtimeClient {
  const client = new RealtimeClient({
    entities: twoEntities(),
    baseUrl,
    historyLimit: 50,
    random: () => 0,
    openSocket,
    connectivity: null,
    ...options,
  });
  clients.push(client);
  client.start();
  return client;
}

const ids = (client: RealtimeClient, entity: string) =>
  (client.getSnapshot().data.byEntity[entity] ?? []).map((event) => event.id);
const params = (url: string) => Object.fromEntries(new URL(url, "http://server").searchParams);

describe("subscriptions", () => {
  it("puts the subscription in the socket and history URLs, and nothing for everything", () => {
    const only = { entities: ["Order", "Customer"], types: ["insert" as const] };
    expect(params(socketUrl("http://h", 7, only))).toEqual({ after: "7", entities: "Order,Customer", types: "insert" });
    expect(params(socketUrl("http://h", null, EVERYTHING))).toEqual({});
    expect(params(historyUrl("http://h", 9, 5, { entities: ["Order"], types: null }))).toEqual({
      before: "10",
      limit: "5",
      entities: "Order",
    });
    expect(params(socketUrl("http://h", null, { entities: [], types: null }))).toEqual({ entities: "" });
  });

  it("knows what a wider subscription gains, per entity", () => {
    const entities = twoEntities();
    const orders = { entities: ["Order"], types: ["insert" as const] };
    expect(widened(orders, EVERYTHING, entities)).toEqual([
      { entity: "Order", types: ["update", "delete"] },
      { entity: "Customer", types: ["insert", "update", "delete"] },
    ]);
    expect(widened(EVERYTHING, orders, entities)).toEqual([]);
  });

  it("asks for what the page shows; entities shown as current rows get every event type", () => {
    const entities = twoEntities();
    expect(pageSubscription(entities, [], [], [])).toEqual(EVERYTHING);
    expect(pageSubscription(entities, ["Customer"], ["delete"], [])).toEqual({
      entities: ["Order"],
      types: ["insert", "update"],
    });
    expect(pageSubscription(entities, ["Customer"], ["delete"], ["Order"])).toEqual({ entities: ["Order"], types: null });
    // A hidden entity's row view does not widen the types.
    expect(pageSubscription(entities, ["Customer"], ["delete"], ["Customer"]).types).toEqual(["insert", "update"]);
  });

  it("reads unsent counts, leaving out what is malformed", () => {
    const message = parseServerMessage(
      JSON.stringify({
        type: "events",
        events: [],
        resume_after: 3,
        unsent: { Customer: { insert: 2, update: -1, bogus: 4 }, Order: "x", Product: { delete: 1.5 } },
      }),
    );
    expect(message).toEqual({ type: "events", events: [], resume_after: 3, replay: false, unsent: { Customer: { insert: 2 } } });
  });

  it("counts what was not sent in the statistics, also across a pause", async () => {
    const client = connect({ subscription: { entities: ["Order"], types: null } });
    await vi.waitFor(() => expect(client.getSnapshot().status.state).toBe("live"), WAIT);
    expect(params(server.connections[0]?.url ?? "")).toEqual({ entities: "Order", compression: "deflate" });
    server.message(server.latest, { type: "events", events: [orderEvent(1)], resume_after: 2, unsent: { Customer: { insert: 1 } } });
    await vi.waitFor(() => expect(client.getSnapshot().data.counts.Customer).toEqual({ insert: 1, update: 0, delete: 0 }), WAIT);
    expect(client.getSnapshot().data.counts.Order).toEqual({ insert: 1, update: 0, delete: 0 });
    const perSecond = client.getSnapshot().data.perSecond.Customer ?? [];
    expect(perSecond.reduce((sum, count) => sum + count, 0)).toBe(1);
    client.pause();
    server.message(server.latest, { type: "events", events: [], resume_after: 4, unsent: { Customer: { update: 2 } } });
    server.message(server.latest, { type: "events", events: [], resume_after: 5, unsent: { Customer: { update: 1, delete: 1 } } });
    await vi.waitFor(() => expect(client.getSnapshot().data.counts.Customer?.update).toBe(0), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.getSnapshot().data.counts.Customer).toEqual({ insert: 1, update: 0, delete: 0 });
    client.resume();
    await vi.waitFor(() => expect(client.getSnapshot().data.counts.Customer).toEqual({ insert: 1, update: 3, delete: 1 }), WAIT);
    expect(ids(client, "Customer")).toEqual([]);
  });

  it("narrowing reconnects from the resume point; widening also backfills what it gained, by id, uncounted", async () => {
    server.historyFor = (url) => {
      if (url.searchParams.get("entities") !== "Customer") return [];
      // The newest events of Customer up to the resume point (the server filters; here: the page's view).
      return [customerEvent(3), customerEvent(6)];
    };
    const client = connect();
    await vi.waitFor(() => expect(client.getSnapshot().status.state).toBe("live"), WAIT);
    server.send([orderEvent(1), customerEvent(2)], 2);
    await vi.waitFor(() => expect(ids(client, "Customer")).toEqual([2]), WAIT);

    client.setSubscription({ entities: ["Order"], types: null });
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(params(server.connections[1]?.url ?? "")).toEqual({ after: "2", entities: "Order", compression: "deflate" });
    const requestsBefore = server.historyRequests.length;
    server.send([orderEvent(4)], 7);
    await vi.waitFor(() => expect(ids(client, "Order")).toEqual([4, 1]), WAIT);
    expect(server.historyRequests.length).toBe(requestsBefore); // narrowing fetches nothing

    client.setSubscription(EVERYTHING);
    await vi.waitFor(() => expect(server.connections).toHaveLength(3), WAIT);
    expect(params(server.connections[2]?.url ?? "")).toEqual({ after: "7", compression: "deflate" });
    await vi.waitFor(() => expect(ids(client, "Customer")).toEqual([6, 3, 2]), WAIT);
    const backfill = server.historyRequests.at(-1)?.url ?? "";
    expect(params(backfill)).toEqual({ before: "8", limit: "4", entities: "Customer", types: "insert,update,delete" });
    // Shown, not counted: the server counted them as unsent when they happened.
    expect(client.getSnapshot().data.counts.Customer).toEqual({ insert: 1, update: 0, delete: 0 });
    // The same subscription again (another array) changes nothing.
    client.setSubscription({ entities: null, types: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.connections).toHaveLength(3);
  });
});
