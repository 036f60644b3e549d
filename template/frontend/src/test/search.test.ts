import { describe, expect, it } from "vitest";
import { toCsv } from "../lib/csv";
import { fieldValue } from "../lib/format";
import { matchesSearch } from "../lib/search";
import type { DbEvent, EntityConfig } from "../lib/types";

// Columns named like Object.prototype keys; the row comes from JSON, as the backend sends it.
const COLUMNS = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty"];

const entity: EntityConfig = {
  name: "constructor",
  table: "odd_names",
  kind: "root",
  idColumn: "id",
  color: "#000000",
  icon: "",
  doc: "",
  columns: COLUMNS.map((name) => ({ name, type: "string", nullable: true, primaryKey: false, length: null, doc: "" })),
  displayFields: COLUMNS,
  maxRecords: 10,
  eventTypes: ["insert", "update", "delete"],
};

// `constructor` and `valueOf` are not in this row (a partial payload).
const event = JSON.parse(
  JSON.stringify({
    id: 1,
    entity: "constructor",
    event_type: "insert",
    data: JSON.parse('{"__proto__": "proto value", "toString": "plain", "hasOwnProperty": null}'),
    changed: null,
    timestamp: "2024-05-01T00:00:00.000Z",
  }),
) as DbEvent;

describe("columns named like Object.prototype keys", () => {
  it("read as the row's own values, missing ones as no value", () => {
    expect(fieldValue(event.data, "__proto__")).toBe("proto value");
    expect(fieldValue(event.data, "toString")).toBe("plain");
    expect(fieldValue(event.data, "hasOwnProperty")).toBeNull();
    expect(fieldValue(event.data, "constructor")).toBeUndefined();
    expect(fieldValue(event.data, "valueOf")).toBeUndefined();
  });

  it("are searched by their values only", () => {
    expect(matchesSearch(event, { ...entity, name: "odd" }, "proto value")).toBe(true);
    expect(matchesSearch(event, { ...entity, name: "odd" }, "function")).toBe(false);
    expect(matchesSearch(event, { ...entity, name: "odd" }, "native code")).toBe(false);
  });

  it("are exported with their values, missing ones empty", () => {
    const csv = toCsv([event], COLUMNS);
    expect(csv.split("\r\n")[1]).toBe("1,2024-05-01T00:00:00.000Z,constructor,insert,proto value,,plain,,");
  });
});
