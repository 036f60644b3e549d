import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Api } from "../lib/api";
import { bucketLabel, stackHistogram } from "../lib/histogram";
import {
  eventsPath,
  fetchPage,
  fetchRange,
  type HistoryFilter,
  HistoryError,
  histogramPath,
  parseHistogram,
  parseHistoryInfo,
} from "../lib/history";
import {
  bucketRange,
  fromInputValue,
  presetRange,
  rangeProblem,
  retentionNote,
  retentionSummary,
  toInputValue,
} from "../lib/timeRange";
import type { DbEvent } from "../lib/types";

const T = Date.parse("2026-11-27T10:00:00.000Z");
const ALL: HistoryFilter = { entities: null, eventTypes: null, q: "" };

describe("the time range", () => {
  it("presets end at the database's now", () => {
    expect(presetRange("15m", T)).toEqual({ since: T - 900_000, until: T });
    expect(presetRange("24h", T)).toEqual({ since: T - 86_400_000, until: T });
  });

  it("reads and writes the custom fields in UTC or in the browser's zone", () => {
    expect(toInputValue(T, "utc")).toBe("2026-11-27T10:00:00");
    expect(fromInputValue("2026-11-27T10:00:00", "utc")).toBe(T);
    expect(fromInputValue("2026-11-27T10:00", "utc")).toBe(T);
    expect(fromInputValue("2026-11-27T10:00:00.5", "utc")).toBe(T + 500);
    const local = toInputValue(T, "local");
    expect(fromInputValue(local, "local")).toBe(T);
    expect(new Date(fromInputValue("2026-11-27T10:00:00", "local") ?? 0).getHours()).toBe(10);
  });

  it("refuses what is not a moment, and ranges that end before they start", () => {
    expect(fromInputValue("2026-02-30T10:00", "utc")).toBeNull();
    expect(fromInputValue("", "local")).toBeNull();
    expect(fromInputValue("yesterday", "utc")).toBeNull();
    expect(rangeProblem(null, T)).toMatch(/start is not a valid/);
    expect(rangeProblem(T, null)).toMatch(/end is not a valid/);
    expect(rangeProblem(T, T)).toBe("The start must be before the end.");
    expect(rangeProblem(T, T + 1)).toBeNull();
  });

  it("says when a range reaches before what is kept, instead of an empty page", () => {
    const kept = { retentionDays: 7, oldest: T, newest: T + 3_600_000 };
    expect(retentionNote({ since: T, until: T + 1000 }, kept, "utc")).toBeNull();
    const outside = retentionNote({ since: T - 30 * 86_400_000, until: T - 29 * 86_400_000 }, kept, "utc");
    expect(outside?.kind).toBe("outside");
    expect(outside?.text).toMatch(/^Events older than 7 days are not kept; the oldest kept is from .*2026.* UTC\./);
    expect(retentionNote({ since: T - 1000, until: T + 1000 }, kept, "utc")?.kind).toBe("partly");
    expect(retentionNote({ since: 0, until: 1 }, { retentionDays: 7, oldest: null, newest: null }, "utc")).toBeNull();
    expect(retentionNote({ since: 0, until: 1 }, { ...kept, retentionDays: null }, "utc")?.text).toMatch(
      /^The oldest event kept is from .*\. Nothing of this range is kept\.$/,
    );
    expect(retentionSummary(kept)).toBe("Events are kept 7 days.");
    expect(retentionSummary({ ...kept, retentionDays: 1 })).toBe("Events are kept 1 day.");
    expect(retentionSummary({ ...kept, retentionDays: null })).toMatch(/retention is off/);
  });

  it("narrows to a bucket, never past the range it came from", () => {
    expect(bucketRange(T, 60, { since: T - 600_000, until: T + 600_000 })).toEqual({ since: T, until: T + 60_000 });
    expect(bucketRange(T, 60, { since: T + 10_000, until: T + 30_000 })).toEqual({ since: T + 10_000, until: T + 30_000 });
  });
});

describe("the history endpoints' URLs and answers", () => {
  const range = { since: T, until: T + 900_000 };

  it("sends the range in UTC, the filters as comma lists, and a cursor instead of the order", () => {
    const first = new URL(eventsPath(range, { entities: ["Order", "Customer"], eventTypes: ["insert"], q: "50%" }, { limit: 500 }), "http://x");
    expect(first.pathname).toBe("/api/events");
    expect(Object.fromEntries(first.searchParams)).toEqual({
      since: "2026-11-27T10:00:00.000Z",
      until: "2026-11-27T10:15:00.000Z",
      entities: "Order,Customer",
      types: "insert",
      q: "50%",
      limit: "500",
      order: "desc",
    });
    const next = new URL(eventsPath(range, ALL, { limit: 99_999, cursor: "abc" }), "http://x");
    expect(next.searchParams.get("cursor")).toBe("abc");
    expect(next.searchParams.has("order")).toBe(false);
    expect(next.searchParams.get("limit")).toBe("5000");
    const histogram = new URL(histogramPath(range, { ...ALL, q: "ignored" }), "http://x");
    expect(histogram.pathname).toBe("/api/events/histogram");
    expect([...histogram.searchParams.keys()]).toEqual(["since", "until"]);
  });

  it("reads the histogram and what is kept", () => {
    const histogram = parseHistogram({
      bucket_seconds: 60,
      buckets: [{ start: "2026-11-27T10:01:00Z", counts: { Order: 2, Customer: 1 } }, { start: "bad" }],
      total: 3,
    });
    expect(histogram.buckets).toEqual([{ start: T + 60_000, counts: { Order: 2, Customer: 1 } }]);
    expect(() => parseHistogram({ buckets: [] })).toThrow(HistoryError);
    const info = parseHistoryInfo({
      retention_days: 7,
      oldest: { id: 1, timestamp: "2026-11-27T10:00:00Z" },
      newest: null,
      database_time: "2026-11-27T10:15:00.000000Z",
    });
    expect(info).toEqual({ retentionDays: 7, oldest: T, newest: null, databaseTime: T + 900_000 });
    expect(parseHistoryInfo({ retention_days: null, oldest: null, newest: null, database_time: "2026-11-27T10:00:00Z" }).retentionDays).toBeNull();
  });

  it("stacks every bucket of the range per entity, in the entities' order", () => {
    const histogram = parseHistogram({
      bucket_seconds: 60,
      buckets: [
        { start: "2026-11-27T10:01:00Z", counts: { Order: 2, Customer: 1 } },
        { start: "2026-11-27T10:04:00Z", counts: { Customer: 5, Ghost: 9 } },
      ],
      total: 17,
    });
    const stacked = stackHistogram(histogram, { since: T + 30_000, until: T + 300_000 }, [
      { name: "Order", color: "#00f" },
      { name: "Customer", color: "#f00" },
    ]);
    expect(stacked.starts).toEqual([0, 1, 2, 3, 4].map((n) => T + n * 60_000));
    expect(stacked.series.map((s) => [s.entity, s.counts, s.top])).toEqual([
      ["Order", [0, 2, 0, 0, 0], [0, 2, 0, 0, 0]],
      ["Customer", [0, 1, 0, 0, 5], [0, 3, 0, 0, 5]],
    ]);
    expect(stacked.total).toBe(8); // an entity this page does not know is not drawn
    expect(bucketLabel(60)).toBe("1 min");
    expect(bucketLabel(7200)).toBe("2 h");
    expect(bucketLabel(86_400)).toBe("1 day");
  });
});

describe("paging a range against a server", () => {
  let server: Server;
  let api: Api;
  const requests: URL[] = [];
  const events: DbEvent[] = Array.from({ length: 12 }, (_, n) => ({
    id: n + 1,
    entity: "Order",
    event_type: "insert",
    data: { order_key: `K-${n + 1}` },
    changed: null,
    timestamp: new Date(T + n * 1000).toISOString(),
  }));

  beforeEach(async () => {
    requests.length = 0;
    // Pages of 5 newest first; the cursor is the id to continue below.
    server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x");
      requests.push(url);
      response.setHeader("content-type", "application/json");
      if (url.searchParams.get("q") === "x") {
        response.statusCode = 422;
        response.end(JSON.stringify({ detail: "q: 1 to 200 characters" }));
        return;
      }
      const below = Number(url.searchParams.get("cursor") ?? 1000);
      const page = events.filter((e) => e.id < below).reverse().slice(0, 5);
      const older = page.length === 5 ? String(page.at(-1)?.id) : null;
      response.end(JSON.stringify({ events: page, order: "desc", older, newer: page.length ? "n" : null }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = new Api({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, onSignedOut: () => {} });
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("follows the older cursor to the end of the range, newest first, nothing twice", async () => {
    const all = await fetchRange(api, { since: T, until: T + 60_000 }, ALL, 100);
    expect(all.truncated).toBe(false);
    expect(all.events.map((e) => e.id)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(requests.map((url) => url.searchParams.get("cursor"))).toEqual([null, "8", "3"]);
  });

  it("stops at the cap and says the range holds more", async () => {
    const capped = await fetchRange(api, { since: T, until: T + 60_000 }, ALL, 7);
    expect(capped).toMatchObject({ truncated: true });
    expect(capped.events.map((e) => e.id)).toEqual([12, 11, 10, 9, 8, 7, 6]);
  });

  it("shows the server's one-line reason for a refused request", async () => {
    const page = fetchPage(api, { since: T, until: T + 1000 }, { ...ALL, q: "x" }, { limit: 5 });
    await expect(page).rejects.toThrow(new HistoryError("q: 1 to 200 characters"));
  });
});
