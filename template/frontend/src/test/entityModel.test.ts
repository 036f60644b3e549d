import { describe, expect, it } from "vitest";
import { parseDashboardModel } from "../lib/entityModel";

/** The shape of GET /api/entities (snake_case, as the backend sends it). */
function body(): Record<string, unknown> {
  return {
    entities: [
      {
        name: "Order",
        table: "orders",
        id_column: "id",
        kind: "root",
        color: "#3b82f6",
        icon: "📦",
        doc: "An order.",
        columns: [
          { name: "id", type: "integer", nullable: false, length: null, primary_key: true, doc: "" },
          { name: "order_key", type: "string", nullable: false, length: 50, primary_key: false, doc: "Key." },
        ],
        display_fields: ["order_key"],
        max_records: 500,
        event_types: ["insert", "update", "delete"],
        unicity_fields: ["order_key"],
      },
    ],
    features: {
      statistics: true,
      filters: true,
      search: false,
      pause: true,
      auto_scroll: true,
      export_csv: false,
      dark_mode: true,
    },
    poll_interval_ms: 500,
    database: "sqlite",
  };
}

describe("parseDashboardModel", () => {
  it("turns the backend's model into the UI's types", () => {
    const model = parseDashboardModel(body());
    expect(model.features).toEqual({
      statistics: true,
      filters: true,
      search: false,
      pause: true,
      autoScroll: true,
      exportCsv: false,
      darkMode: true,
    });
    const [order] = model.entities;
    expect(order).toMatchObject({ name: "Order", idColumn: "id", displayFields: ["order_key"], maxRecords: 500 });
    expect(order?.columns[1]).toEqual({
      name: "order_key",
      type: "string",
      nullable: false,
      primaryKey: false,
      length: 50,
      doc: "Key.",
    });
  });

  it("names the first field it cannot use", () => {
    const broken = body();
    (broken.entities as Record<string, unknown>[])[0]!.columns = [{ name: "x", type: "money" }];
    expect(() => parseDashboardModel(broken)).toThrow(
      '/api/entities: entities[0].columns[0].type: "money" is not one of string, integer, float',
    );
    expect(() => parseDashboardModel({ entities: [] })).toThrow("/api/entities: features: expected an object");
    expect(() => parseDashboardModel("<html>")).toThrow("/api/entities: response: expected an object");
  });
});
