import { act, cleanup, render, renderHook, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket as NodeWebSocket } from "ws";
import { ConnectionStatus } from "../components/ConnectionStatus";
import { type Realtime, socketUrl, useRealtimeData } from "../hooks/useRealtimeData";
import { orderEntities, orderEvent, ProtocolServer } from "./protocolServer";

const ENTITIES = orderEntities(3);

const openSocket = (url: string) => new NodeWebSocket(url) as unknown as WebSocket;
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

function start(historyLimit = 50) {
  // random() = 0: the shortest jittered delay, so reconnects are quick and predictable.
  // The `ws` client: jsdom's environment has no WebSocket of its own that works with its events.
  return renderHook(() =>
    useRealtimeData({ entities: ENTITIES, baseUrl, historyLimit, random: () => 0, openSocket }),
  );
}

const ids = (result: { current: Realtime }) => (result.current.data.byEntity.Order ?? []).map((event) => event.id);

describe("useRealtimeData", () => {
  it("builds the socket URL with the resume point and no token", () => {
    expect(socketUrl("http://h:8000", null)).toBe("ws://h:8000/ws");
    expect(socketUrl("https://h", 42)).toBe("wss://h/ws?after=42");
  });

  it("goes live, loads history before the hello's last event, then applies live events", async () => {
    server.lastEventId = 7;
    server.resumeAfter = 7;
    server.history = [orderEvent(6), orderEvent(7)];
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    await waitFor(() => expect(ids(result)).toEqual([7, 6]));
    expect(server.historyRequests.map((request) => request.url)).toEqual(["/api/events?before=8&limit=50"]);
    expect(server.connections[0]?.url).toBe("/ws?compression=deflate");
    // History is shown but not counted as this session's changes.
    expect(result.current.data.counts.Order?.insert).toBe(0);
    act(() => server.send([orderEvent(8), orderEvent(9, "update")], 9));
    await waitFor(() => expect(ids(result)).toEqual([9, 8, 7]));
    expect(result.current.data.counts.Order).toEqual({ insert: 1, update: 1, delete: 0 });
    unmount();
  });

  it("keeps at most maxRecords rows per entity, newest first", async () => {
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => server.send([1, 2, 3, 4, 5].map((id) => orderEvent(id)), 5));
    await waitFor(() => expect(ids(result)).toEqual([5, 4, 3]));
    // The unified stream has its own, larger cap.
    expect(result.current.data.stream.map((event) => event.id)).toEqual([5, 4, 3, 2, 1]);
    expect(result.current.data.counts.Order?.insert).toBe(5);
    unmount();
  });

  it("drops events it has already applied", async () => {
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => server.send([orderEvent(1), orderEvent(2)], 2));
    act(() => server.send([orderEvent(2), orderEvent(1), orderEvent(3)], 3));
    await waitFor(() => expect(ids(result)).toEqual([3, 2, 1]));
    expect(result.current.data.received).toBe(3);
    unmount();
  });

  it("reconnects with backoff and resumes after the last safe point", async () => {
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => server.send([orderEvent(1), orderEvent(2)], 2));
    await waitFor(() => expect(ids(result)).toEqual([2, 1]));
    act(() => server.dropAll());
    await waitFor(() => expect(result.current.status.state).toBe("reconnecting"));
    const status = result.current.status;
    expect(status.state === "reconnecting" && status.attempt).toBe(1);
    await waitFor(() => expect(server.connections).toHaveLength(2), { timeout: 3000 });
    expect(server.connections[1]?.url).toBe("/ws?after=2&compression=deflate");
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    // The replay repeats an event the hook already has: applied once.
    act(() => server.send([orderEvent(2), orderEvent(3)], 3));
    await waitFor(() => expect(ids(result)).toEqual([3, 2, 1]));
    // Only the first hello loads history.
    expect(server.historyRequests).toHaveLength(0);
    unmount();
  });

  it("holds events while paused and applies them on resume", async () => {
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => result.current.pause());
    act(() => server.send([orderEvent(1), orderEvent(2)], 2));
    await waitFor(() => expect(result.current.pending).toBe(2));
    expect(ids(result)).toEqual([]);
    act(() => result.current.resume());
    await waitFor(() => expect(ids(result)).toEqual([2, 1]));
    expect(result.current.pending).toBe(0);
    unmount();
  });

  it("shows the server's 'starting' state with the rows kept, then goes live and resumes", async () => {
    const { result, unmount } = start();
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => server.send([orderEvent(1), orderEvent(2)], 2));
    await waitFor(() => expect(ids(result)).toEqual([2, 1]));
    server.starting = true;
    act(() => server.dropAll());
    await waitFor(() => expect(result.current.status.state).toBe("starting"), { timeout: 3000 });
    const view = render(<ConnectionStatus status={result.current.status} />);
    expect(view.getByTestId("connection-status").dataset.state).toBe("starting");
    expect(view.getByTestId("connection-status").textContent).toBe("Server starting: waiting for the database");
    expect(ids(result)).toEqual([2, 1]);
    expect(server.connections[1]?.url).toBe("/ws?after=2&compression=deflate");
    act(() => server.ready());
    await waitFor(() => expect(result.current.status.state).toBe("live"));
    act(() => server.send([orderEvent(2), orderEvent(3)], 3));
    await waitFor(() => expect(ids(result)).toEqual([3, 2, 1]));
    unmount();
  });
});
