import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { usePlayback } from "../hooks/usePlayback";
import { Api } from "../lib/api";
import type { DbEvent } from "../lib/types";
import { orderEntities } from "./protocolServer";

const ENTITIES = orderEntities(10_000);
const T0 = Date.parse("2026-11-27T10:00:00.000Z");
const RANGE = { since: T0, until: T0 + 60_000 };

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/**
 * The history endpoint as docs/design.md specifies it, over `events`: ascending
 * pages of the range from `since`, a `newer` cursor while pages are full.
 */
function backend(events: readonly DbEvent[]) {
  const requests: URL[] = [];
  vi.stubGlobal("fetch", async (input: URL | string) => {
    const url = new URL(String(input));
    requests.push(url);
    const since = Date.parse(url.searchParams.get("since") ?? "");
    const until = Date.parse(url.searchParams.get("until") ?? "");
    const limit = Number(url.searchParams.get("limit"));
    const after = Number(url.searchParams.get("cursor") ?? -1);
    const page = events
      .filter((e) => Date.parse(e.timestamp) >= since && Date.parse(e.timestamp) < until && e.id > after)
      .slice(0, limit);
    const newer = page.length === limit ? String(page.at(-1)?.id) : null;
    return new Response(JSON.stringify({ events: page, order: "asc", older: null, newer }), { status: 200 });
  });
  return requests;
}

const event = (id: number, offsetMs: number): DbEvent => ({
  id,
  entity: "Order",
  event_type: "insert",
  data: { id, order_key: `K-${id}` },
  changed: null,
  timestamp: new Date(T0 + offsetMs).toISOString(),
});

describe("usePlayback", () => {
  it("replays a range page by page into its own store, each event once, in order", async () => {
    const events = Array.from({ length: 250 }, (_, n) => event(n + 1, n * 200));
    const requests = backend(events);
    const api = new Api({ baseUrl: "http://dashboard.test", onSignedOut: () => {} });
    const { result } = renderHook(() => usePlayback(api, ENTITIES, 100));
    act(() => result.current.start(RANGE, "max"));
    expect(result.current.range).toEqual(RANGE);
    await waitFor(() => expect(result.current.status?.state).toBe("ended"), { timeout: 5000 });
    await waitFor(() => expect(result.current.data.stream).toHaveLength(250));
    expect(result.current.data.stream.map((e) => e.id)).toEqual(events.map((e) => e.id).reverse());
    expect(result.current.data.received).toBe(250);
    // Three pages, each continuing the one before with its cursor, over the same range.
    expect(requests.map((url) => [url.searchParams.get("order"), url.searchParams.get("cursor")])).toEqual([
      ["asc", null],
      [null, "100"],
      [null, "200"],
    ]);
    expect(new Set(requests.map((url) => url.searchParams.get("since")))).toEqual(new Set(["2026-11-27T10:00:00.000Z"]));
    // "Last event" is the replayed moment, not the wall clock.
    expect(result.current.data.lastEventAt).toBe(RANGE.until);
  });

  it("seeks: starts the views over from the position, and stop drops everything", async () => {
    const events = Array.from({ length: 60 }, (_, n) => event(n + 1, n * 1000));
    const requests = backend(events);
    const api = new Api({ baseUrl: "http://dashboard.test", onSignedOut: () => {} });
    const { result } = renderHook(() => usePlayback(api, ENTITIES, 100));
    act(() => result.current.start(RANGE, 1));
    act(() => result.current.pause());
    act(() => result.current.seek(T0 + 45_500));
    act(() => result.current.setSpeed("max"));
    act(() => result.current.play());
    await waitFor(() => expect(result.current.status?.state).toBe("ended"), { timeout: 5000 });
    await waitFor(() => expect(result.current.data.stream.map((e) => e.id)).toEqual([60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47]));
    expect(requests.at(-1)?.searchParams.get("since")).toBe("2026-11-27T10:00:45.500Z");
    act(() => result.current.stop());
    expect(result.current.range).toBeNull();
    expect(result.current.status).toBeNull();
    expect(result.current.data.stream).toEqual([]);
  });

  it("says why a page could not be read, and pauses", async () => {
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify({ detail: "database unavailable" }), { status: 503 }));
    const api = new Api({ baseUrl: "http://dashboard.test", onSignedOut: () => {} });
    const { result } = renderHook(() => usePlayback(api, ENTITIES));
    act(() => result.current.start(RANGE, 10));
    await waitFor(() => expect(result.current.error).toBe("database unavailable"));
    expect(result.current.status?.state).toBe("paused");
  });
});
