// @vitest-environment node
// No DOM and no React: the client runs on its own, against a real ws/http server.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { inflate } from "../lib/frames";
import { MAX_QUEUED, RealtimeClient, type RealtimeClientOptions } from "../lib/realtimeClient";
import { orderEntities, orderEvent, ProtocolServer, STARTING_MESSAGE } from "./protocolServer";

const openSocket = (url: string) => new NodeWebSocket(url) as unknown as WebSocket;
const WAIT = { timeout: 4000, interval: 10 };

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
  // random() = 0: the shortest jittered delay, so reconnects are quick and predictable.
  const client = new RealtimeClient({
    entities: orderEntities(100),
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

const rows = (client: RealtimeClient) => (client.getSnapshot().data.byEntity.Order ?? []).map((event) => event.id);
const state = (client: RealtimeClient) => client.getSnapshot().status.state;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index);

/** An inflate that waits for `release()`: binary frames stay in flight meanwhile. */
function heldInflate(): { release: () => void; decompress: (data: ArrayBuffer) => Promise<string> } {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const decompress = async (data: ArrayBuffer) => {
    await held;
    return inflate(data);
  };
  return { release, decompress };
}

async function live(client: RealtimeClient): Promise<void> {
  await vi.waitFor(() => expect(state(client)).toBe("live"), WAIT);
}

describe("the realtime client", () => {
  it("goes live, loads history below the live rows it already has, counts only live events", async () => {
    server.lastEventId = 7;
    server.resumeAfter = 7;
    server.history = [orderEvent(6), orderEvent(7)];
    let releaseHistory = () => {};
    const historyHeld = new Promise<void>((resolve) => (releaseHistory = resolve));
    // History answers after a live event has arrived: it must still be shown below it.
    const slowFetch: typeof fetch = async (input, init) => {
      await historyHeld;
      return fetch(input, init);
    };
    const client = connect({ fetch: slowFetch });
    await live(client);
    server.send([orderEvent(8)], 8);
    await vi.waitFor(() => expect(rows(client)).toEqual([8]), WAIT);
    releaseHistory();
    await vi.waitFor(() => expect(rows(client)).toEqual([8, 7, 6]), WAIT);
    expect(client.getSnapshot().data.counts.Order).toEqual({ insert: 1, update: 0, delete: 0 });
    expect(client.getSnapshot().data.received).toBe(1);
  });

  it("puts no token in any URL; a token given is sent as a header", async () => {
    server.lastEventId = 3;
    server.history = [orderEvent(3)];
    const client = connect({ token: "secret-token-0123456789" });
    await vi.waitFor(() => expect(rows(client)).toEqual([3]), WAIT);
    server.send([orderEvent(4)], 4);
    await vi.waitFor(() => expect(rows(client)).toEqual([4, 3]), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    const urls = [...server.connections.map((c) => c.url), ...server.historyRequests.map((r) => r.url)];
    expect(urls).toEqual([
      "/ws?compression=deflate",
      "/ws?after=4&compression=deflate",
      "/api/events?before=4&limit=50",
    ]);
    for (const url of urls) expect(url).not.toMatch(/token|secret/);
    expect(server.historyRequests[0]?.headers.authorization).toBe("Bearer secret-token-0123456789");
  });

  it("resumes after the last resume_after of events and heartbeats, with backoff", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1), orderEvent(2)], 2);
    server.heartbeat(5);
    await vi.waitFor(() => expect(rows(client)).toEqual([2, 1]), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(state(client)).toBe("reconnecting"), WAIT);
    const status = client.getSnapshot().status;
    expect(status.state === "reconnecting" && status.attempt).toBe(1);
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    // The heartbeat came after the events: its resume point wins.
    await vi.waitFor(() => expect(server.connections[1]?.url).toBe("/ws?after=5&compression=deflate"), WAIT);
    await live(client);
    expect(server.historyRequests).toHaveLength(0);
  });

  it("shows 'starting' while the server waits for the database, keeps its rows, then resumes", async () => {
    server.protocol = 1;
    const client = connect();
    await live(client);
    server.send([orderEvent(1), orderEvent(2)], 2);
    await vi.waitFor(() => expect(rows(client)).toEqual([2, 1]), WAIT);

    // The backend restarts and cannot reach the database yet.
    server.starting = true;
    server.dropAll();
    await vi.waitFor(() => expect(state(client)).toBe("starting"), WAIT);
    expect(client.getSnapshot().status).toEqual({ state: "starting", message: STARTING_MESSAGE });
    expect(server.connections[1]?.url).toBe("/ws?after=2&compression=deflate");
    // Repeated `starting` frames change nothing: same rows, same socket.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(state(client)).toBe("starting");
    expect(rows(client)).toEqual([2, 1]);
    expect(server.connections).toHaveLength(2);

    server.lastEventId = 4;
    server.resumeAfter = 2;
    server.ready();
    await live(client);
    server.send([orderEvent(3), orderEvent(4)], 4); // the replay after ?after=2
    await vi.waitFor(() => expect(rows(client)).toEqual([4, 3, 2, 1]), WAIT);
    expect(client.getSnapshot().data.counts.Order?.insert).toBe(4);
    expect(server.historyRequests).toHaveLength(0);
  });

  it("a drop while starting keeps the rows and resumes from the same point", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1)], 1);
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    server.starting = true;
    server.dropAll();
    await vi.waitFor(() => expect(state(client)).toBe("starting"), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(state(client)).toBe("reconnecting"), WAIT);
    // `starting` counts as reaching the server: the backoff starts again from the first try.
    const status = client.getSnapshot().status;
    expect(status.state === "reconnecting" && status.attempt).toBe(1);
    expect(rows(client)).toEqual([1]);
    await vi.waitFor(() => expect(server.connections).toHaveLength(3), WAIT);
    expect(server.connections.map((c) => c.url)).toEqual([
      "/ws?compression=deflate",
      "/ws?after=1&compression=deflate",
      "/ws?after=1&compression=deflate",
    ]);
    await vi.waitFor(() => expect(state(client)).toBe("starting"), WAIT);
    server.ready();
    await live(client);
    expect(rows(client)).toEqual([1]);
  });

  it("shows each event once when a restarted backend sends again what it already has", async () => {
    const client = connect();
    await live(client);
    // Ids 1-3 and 5 arrived; 4 was still open, so the resume point stays at 3.
    server.send([orderEvent(1), orderEvent(2), orderEvent(3)], 3);
    server.send([orderEvent(5)], 3);
    await vi.waitFor(() => expect(rows(client)).toEqual([5, 3, 2, 1]), WAIT);
    server.dropAll(); // kill -9
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=3&compression=deflate");
    await live(client);
    // The restarted backend repeats events the client has, before and after its resume point.
    server.send([orderEvent(2), orderEvent(3), orderEvent(4), orderEvent(5), orderEvent(6)], 6);
    await vi.waitFor(() => expect(rows(client)).toEqual([6, 4, 5, 3, 2, 1]), WAIT);
    expect(client.getSnapshot().data.stream.map((event) => event.id)).toEqual([6, 4, 5, 3, 2, 1]);
    expect(client.getSnapshot().data.received).toBe(6);
  });

  it("says why the server closed it while it waits to reconnect, then resumes", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1)], 1);
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    server.closeAll(1013, "server full: 3 connections (WS_MAX_CLIENTS); retry later");
    await vi.waitFor(() => expect(state(client)).toBe("reconnecting"), WAIT);
    const status = client.getSnapshot().status;
    expect(status.state === "reconnecting" && status.reason).toBe("server full: 3 connections (WS_MAX_CLIENTS)");
    await vi.waitFor(() => expect(server.connections[1]?.url).toBe("/ws?after=1&compression=deflate"), WAIT);
    await live(client);
  });

  it("starts over on a reset: rows dropped, reconnect without a resume point, history again", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1), orderEvent(2)], 2);
    await vi.waitFor(() => expect(rows(client)).toEqual([2, 1]), WAIT);
    server.lastEventId = 1;
    server.resumeAfter = 1;
    server.history = [orderEvent(1)];
    server.reset("ahead");
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?compression=deflate");
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    expect(client.getSnapshot().data.received).toBe(0);
  });

  it("tells event watchers each event once (history included), and resets", async () => {
    server.lastEventId = 2;
    server.resumeAfter = 2;
    server.history = [orderEvent(1), orderEvent(2)];
    const client = connect();
    const seen: number[] = [];
    let resets = 0;
    const unwatch = client.watchEvents({ events: (events) => seen.push(...events.map((e) => e.id)), reset: () => (resets += 1) });
    await live(client);
    server.send([orderEvent(3), orderEvent(2)], 3); // 2 again: dropped before any watcher hears it
    await vi.waitFor(() => expect([...seen].sort()).toEqual([1, 2, 3]), WAIT);
    server.reset("ahead");
    await vi.waitFor(() => expect(resets).toBe(1), WAIT);
    unwatch();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    await live(client);
    server.send([orderEvent(9)], 9);
    await vi.waitFor(() => expect(rows(client)).toContain(9), WAIT);
    expect(seen).not.toContain(9);
  });

  it("skips frames it cannot read and stays connected", async () => {
    const client = connect();
    await live(client);
    server.raw("not json");
    server.raw(JSON.stringify({ type: "from-the-future", payload: 1 }));
    server.raw(JSON.stringify({ type: "events", events: [{ id: "x" }, orderEvent(1)], resume_after: 1 }));
    server.raw(JSON.stringify({ type: "events", events: "nope", resume_after: 2 }));
    server.send([orderEvent(2)], 2);
    await vi.waitFor(() => expect(rows(client)).toEqual([2, 1]), WAIT);
    expect(state(client)).toBe("live");
    expect(server.connections).toHaveLength(1);
  });

  it("holds at most maxPending events while paused, and fetches the rest again on resume", async () => {
    const client = connect({ maxPending: 3 });
    await live(client);
    server.send([orderEvent(1)], 1);
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    client.pause();
    server.send([orderEvent(2), orderEvent(3)], 3);
    server.send([orderEvent(4), orderEvent(5)], 5); // 4 held events would exceed 3
    server.send([orderEvent(6)], 6);
    await vi.waitFor(() => expect(client.getSnapshot().pending).toBe(5), WAIT);
    expect(client.heldEvents).toBe(2);
    expect(rows(client)).toEqual([1]);

    client.resume();
    // The held events at once; the others from the server, resuming after the last one held.
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=3&compression=deflate");
    await vi.waitFor(() => expect(rows(client)).toEqual([3, 2, 1]), WAIT);
    await live(client);
    server.send([orderEvent(3), orderEvent(4), orderEvent(5), orderEvent(6)], 6);
    await vi.waitFor(() => expect(rows(client)).toEqual([6, 5, 4, 3, 2, 1]), WAIT);
    expect(client.getSnapshot().pending).toBe(0);
    expect(client.getSnapshot().data.received).toBe(6);
  });

  it("a reconnect while paused past the bound counts the waiting events afresh", async () => {
    const client = connect({ maxPending: 1 });
    await live(client);
    client.pause();
    server.send([orderEvent(1)], 1);
    server.send([orderEvent(2)], 2);
    await vi.waitFor(() => expect(client.getSnapshot().pending).toBe(2), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=1&compression=deflate");
    await live(client);
    server.send([orderEvent(2), orderEvent(3)], 3); // the replay repeats 2
    await vi.waitFor(() => expect(client.getSnapshot().pending).toBe(3), WAIT);
    expect(client.heldEvents).toBe(1);
  });

  it("applies queued events without waiting for a frame once the queue is full (a hidden tab gets none)", async () => {
    const client = connect({ scheduleFrame: () => {} }); // frames never come
    await live(client);
    const batch = 1000;
    const messages = Math.ceil((MAX_QUEUED * 2) / batch);
    for (let index = 0; index < messages; index += 1) {
      const first = index * batch + 1;
      server.send(range(first, first + batch - 1).map((id) => orderEvent(id)), first + batch - 1);
    }
    await vi.waitFor(
      () => expect(client.getSnapshot().data.received + client.queuedEvents).toBe(messages * batch),
      WAIT,
    );
    expect(client.queuedEvents).toBeLessThanOrEqual(MAX_QUEUED);
    expect(client.getSnapshot().data.received).toBeGreaterThan(0);
    expect(rows(client)).toHaveLength(100); // maxRecords
  });

  it("stops cleanly and reconnects from where it was when started again", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1)], 1);
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    client.stop();
    await new Promise((resolve) => setTimeout(resolve, 400)); // longer than the first backoff
    expect(server.connections).toHaveLength(1);
    client.start();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=1&compression=deflate");
    expect(rows(client)).toEqual([1]);
  });
});

describe("compressed events", () => {
  it("asks for deflate and applies binary events among text frames, UTF-8 intact", async () => {
    server.compressFrom = 300; // the one-event messages stay text frames, as the backend sends small ones
    const client = connect();
    await live(client);
    expect(server.connections[0]?.url).toBe("/ws?compression=deflate");
    const named = { ...orderEvent(3), data: { id: 3, order_key: "Zürich-€-🚚", total_price: 4.5 } };
    server.send([orderEvent(1), orderEvent(2)], 2);
    server.send([named], 3);
    server.send([orderEvent(4)], 4);
    await vi.waitFor(() => expect(rows(client)).toEqual([4, 3, 2, 1]), WAIT);
    expect(server.binaryFrames).toBe(1);
    const shown = client.getSnapshot().data.byEntity.Order?.find((event) => event.id === 3);
    expect(shown?.data.order_key).toBe("Zürich-€-🚚");
    server.dropAll();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=4&compression=deflate");
  });

  it("handles frames in arrival order while a binary frame is still being inflated", async () => {
    const { release, decompress } = heldInflate();
    const client = connect({ decompress });
    await live(client);
    server.send([orderEvent(1), orderEvent(2)], 2); // binary: waits for the release
    server.raw(JSON.stringify({ type: "events", events: [orderEvent(3)], resume_after: 3 })); // text
    server.heartbeat(5); // text
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The text frames arrived, and wait behind the binary one.
    expect(rows(client)).toEqual([]);
    release();
    await vi.waitFor(() => expect(rows(client)).toEqual([3, 2, 1]), WAIT);
    server.dropAll();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    // The heartbeat came last: its resume point, not the binary message's, is where the client resumes.
    expect(server.connections[1]?.url).toBe("/ws?after=5&compression=deflate");
  });

  it("applies nothing queued behind a reset: starts over without a resume point, history again", async () => {
    const { release, decompress } = heldInflate();
    const client = connect({ decompress });
    await live(client);
    // A replay interrupted by retention: a page, the reset, and the pages the server still sends after it.
    server.send([orderEvent(1), orderEvent(2)], 2); // binary: waits for the release
    server.lastEventId = 9;
    server.resumeAfter = 9;
    server.history = [orderEvent(9)];
    server.reset("truncated");
    server.send([orderEvent(3), orderEvent(4)], 4); // binary, behind the reset
    await new Promise((resolve) => setTimeout(resolve, 150));
    release();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?compression=deflate");
    await vi.waitFor(() => expect(rows(client)).toEqual([9]), WAIT);
    expect(client.getSnapshot().data.received).toBe(0);
  });

  it("closes on a binary frame it cannot inflate, and resumes before it", async () => {
    const client = connect();
    await live(client);
    server.send([orderEvent(1)], 1);
    await vi.waitFor(() => expect(rows(client)).toEqual([1]), WAIT);
    server.raw(new Uint8Array([0x78, 0x9c, 1, 2, 3, 4])); // a zlib header, then garbage
    server.heartbeat(9); // behind the lost message: must not move the resume point past it
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections[1]?.url).toBe("/ws?after=1&compression=deflate");
    await live(client);
    server.send([orderEvent(2), orderEvent(3)], 3); // the replay
    await vi.waitFor(() => expect(rows(client)).toEqual([3, 2, 1]), WAIT);
    expect(client.getSnapshot().data.received).toBe(3);
  });

  it("asks for no compression without a way to inflate, and gets text frames", async () => {
    const client = connect({ decompress: null });
    await live(client);
    server.send([orderEvent(1), orderEvent(2)], 2);
    await vi.waitFor(() => expect(rows(client)).toEqual([2, 1]), WAIT);
    expect(server.binaryFrames).toBe(0);
    server.dropAll();
    await vi.waitFor(() => expect(server.connections).toHaveLength(2), WAIT);
    expect(server.connections.map((c) => c.url)).toEqual(["/ws", "/ws?after=2"]);
  });
});
