import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type CurrentRowsView, useCurrentRows } from "../hooks/useCurrentRows";
import { Api } from "../lib/api";
import type { EventWatcher } from "../lib/realtimeClient";
import type { DbEvent } from "../lib/types";
import { orderEntities, orderEvent } from "./protocolServer";

const [ORDER] = orderEntities(100);

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** A fetch whose answer the test releases, and the watcher the hook registers. */
function harness(status = 200) {
  let release: (body: unknown) => void = () => {};
  const answer = new Promise<unknown>((resolve) => (release = resolve));
  const requests: string[] = [];
  vi.stubGlobal("fetch", async (input: URL | string) => {
    requests.push(String(input));
    const body = await answer;
    return new Response(JSON.stringify(body), { status });
  });
  const watchers: EventWatcher[] = [];
  const watchEvents = (watcher: EventWatcher) => {
    watchers.push(watcher);
    return () => watchers.splice(watchers.indexOf(watcher), 1);
  };
  const api = new Api({ baseUrl: "http://dashboard.test", onSignedOut: () => {} });
  const send = (events: DbEvent[]) => act(() => watchers.forEach((watcher) => watcher.events(events)));
  return { release, requests, watchEvents, api, send, watchers };
}

const rowIds = (view: CurrentRowsView) => (view.state === "ready" ? view.rows.rows.map((row) => row.key) : null);

describe("useCurrentRows", () => {
  it("watches before asking, and applies what arrived meanwhile that the snapshot does not reflect", async () => {
    const h = harness();
    const { result } = renderHook(() => useCurrentRows(h.api, ORDER!, h.watchEvents));
    expect(h.watchers).toHaveLength(1);
    expect(h.requests).toEqual(["http://dashboard.test/api/rows/Order?limit=100"]);
    expect(result.current.state).toBe("loading");
    // 5 is reflected by the snapshot; 4 was in flight when it was read; 7 is newer.
    h.send([orderEvent(5), orderEvent(4), orderEvent(7), orderEvent(8, "insert", "Other")]);
    await act(async () =>
      h.release({ key: "id", last_event_id: 6, pending_event_ids: [[4, 4]], next_after_key: null, rows: [{ id: 5 }, { id: 1 }] }),
    );
    await waitFor(() => expect(rowIds(result.current)).toEqual([7, 5, 4, 1]));
    h.send([orderEvent(3), orderEvent(9)]); // 3 is reflected: nothing changes for it
    await waitFor(() => expect(rowIds(result.current)).toEqual([9, 7, 5, 4, 1]));
  });

  it("says why the rows are unavailable, and asks again", async () => {
    const h = harness(503);
    const { result } = renderHook(() => useCurrentRows(h.api, ORDER!, h.watchEvents));
    await act(async () => h.release({ detail: "starting: the stream has not read the database's newest event yet" }));
    await waitFor(() => expect(result.current).toEqual({ state: "error", message: "starting: the stream has not read the database's newest event yet" }));
    await waitFor(() => expect(h.requests).toHaveLength(2), { timeout: 4000 });
  });
});
