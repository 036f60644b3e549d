import { describe, expect, it } from "vitest";
import { applyEvents, emptyData, eventsPerSecond, RATE_WINDOW_S, STREAM_CAP, tick } from "../lib/store";
import type { EntityConfig } from "../lib/types";
import { orderEvent } from "./protocolServer";

const entity = (name: string, maxRecords: number): EntityConfig => ({
  name,
  table: name.toLowerCase(),
  kind: "root",
  idColumn: "id",
  color: "#000000",
  icon: "",
  doc: "",
  columns: [],
  displayFields: [],
  maxRecords,
  eventTypes: ["insert", "update", "delete"],
});

describe("the dashboard store", () => {
  const entities = [entity("Order", 2), entity("Item", 5000)];
  const now = 1_700_000_000_000;

  it("caps each entity and the unified stream, newest first, and ignores unknown entities", () => {
    let data = emptyData(entities, now);
    data = applyEvents(data, [orderEvent(1), orderEvent(2), orderEvent(3), orderEvent(4, "insert", "Ghost")], entities, now);
    expect(data.byEntity.Order?.map((e) => e.id)).toEqual([3, 2]);
    expect(data.stream.map((e) => e.id)).toEqual([3, 2, 1]);
    const many = Array.from({ length: STREAM_CAP + 10 }, (_, index) => orderEvent(100 + index, "insert", "Item"));
    data = applyEvents(data, many, entities, now);
    expect(data.stream).toHaveLength(STREAM_CAP);
    expect(data.stream[0]?.id).toBe(100 + STREAM_CAP + 9);
  });

  it("counts this session's changes and rates per second over a sliding minute", () => {
    let data = emptyData(entities, now);
    data = applyEvents(data, [orderEvent(1), orderEvent(2, "update"), orderEvent(3, "delete")], entities, now);
    expect(data.counts.Order).toEqual({ insert: 1, update: 1, delete: 1 });
    expect(data.perSecond.Order?.[RATE_WINDOW_S - 1]).toBe(3);
    data = tick(data, now + 2000);
    expect(data.perSecond.Order?.[RATE_WINDOW_S - 3]).toBe(3);
    expect(eventsPerSecond(data, 10)).toBeCloseTo(0.3);
    data = tick(data, now + 120_000);
    expect(data.perSecond.Order?.every((count) => count === 0)).toBe(true);
  });

  it("shows history without counting it", () => {
    const data = applyEvents(emptyData(entities, now), [orderEvent(1)], entities, now, "history");
    expect(data.byEntity.Order?.map((e) => e.id)).toEqual([1]);
    expect(data.counts.Order?.insert).toBe(0);
    expect(data.lastEventAt).toBeNull();
  });

  it("puts history that arrives after live events below them", () => {
    let data = applyEvents(emptyData(entities, now), [orderEvent(10), orderEvent(11)], entities, now, "live");
    data = applyEvents(data, [orderEvent(8), orderEvent(9)], entities, now, "history");
    expect(data.byEntity.Order?.map((e) => e.id)).toEqual([11, 10]); // capped at 2: the live rows stay
    expect(data.stream.map((e) => e.id)).toEqual([11, 10, 9, 8]);
    expect(data.received).toBe(2);
  });

  it("keeps entities named like Object.prototype keys apart from the prototype", () => {
    const names = ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf", "__defineGetter__"];
    const odd = names.map((name) => entity(name, 10));
    let data = emptyData(odd, now);
    const events = names.map((name, index) => orderEvent(index + 1, "insert", name));
    data = applyEvents(data, events, odd, now);
    data = applyEvents(data, [orderEvent(100, "update", "__proto__")], odd, now + 1000);
    data = tick(data, now + 2000);
    for (const [index, name] of names.entries()) {
      const updates = name === "__proto__" ? 1 : 0;
      expect(Object.hasOwn(data.byEntity, name)).toBe(true);
      expect(data.byEntity[name]?.map((event) => event.id)).toEqual(updates ? [100, index + 1] : [index + 1]);
      expect(data.counts[name]).toEqual({ insert: 1, update: updates, delete: 0 });
      // The stats card sums this window: it must be the entity's array (the page went blank on `__proto__`).
      const window = data.perSecond[name];
      expect(Array.isArray(window) && window.length).toBe(RATE_WINDOW_S);
      expect(window?.reduce((sum, count) => sum + count, 0)).toBe(1 + updates);
    }
    expect(data.stream).toHaveLength(names.length + 1);
    expect(eventsPerSecond(data, 10)).toBeCloseTo((names.length + 1) / 10);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).insert).toBeUndefined();
  });
});

