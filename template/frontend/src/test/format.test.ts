import { describe, expect, it } from "vitest";
import { formatClock, formatDate, formatDateTime, formatValue, isMoney, plainText, shorten, zoneName } from "../lib/format";

const column = (name: string, type: "string" | "integer" | "float" | "boolean" | "date" | "datetime" | "json") => ({
  name,
  type,
});

describe("formatting by column type", () => {
  it("shows NULL distinctly", () => {
    expect(formatValue(null, column("x", "string"))).toEqual({ kind: "null" });
    expect(formatValue(undefined, column("x", "integer"))).toEqual({ kind: "null" });
  });

  it("gives money-like columns two decimals and other numbers their digits", () => {
    expect(isMoney("total_price") && isMoney("account_balance") && isMoney("amount")).toBe(true);
    expect(formatValue(13, column("total_price", "float"))).toEqual({
      kind: "number",
      text: (13).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    });
    const digits = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
    expect(formatValue(0.0625, column("discount", "float"))).toEqual({ kind: "number", text: digits.format(0.0625) });
    expect(formatValue(1234567, column("quantity", "integer"))).toEqual({ kind: "number", text: (1234567).toLocaleString() });
  });

  it("shows booleans, dates in local form and datetimes in local time", () => {
    expect(formatValue(true, column("active", "boolean"))).toEqual({ kind: "boolean", value: true });
    expect(formatDate("2024-02-29")).toBe(new Date(2024, 1, 29).toLocaleDateString());
    expect(formatValue("2024-02-29T13:45:10Z", column("at", "datetime"))).toEqual({
      kind: "text",
      text: new Date("2024-02-29T13:45:10Z").toLocaleString(),
    });
    expect(formatValue("not a date", column("at", "datetime"))).toEqual({ kind: "text", text: "not a date" });
  });

  it("shortens JSON and long text, keeping the full value", () => {
    const json = formatValue({ nested: { list: [1, 2, 3] }, text: "x".repeat(50) }, column("meta", "json"));
    expect(json.kind).toBe("json");
    if (json.kind === "json") {
      expect(json.short.length).toBeLessThanOrEqual(40);
      expect(JSON.parse(json.full)).toEqual({ nested: { list: [1, 2, 3] }, text: "x".repeat(50) });
    }
    const long = formatValue("word ".repeat(30), column("comment", "string"));
    expect(long).toEqual({ kind: "text", text: shorten("word ".repeat(30)), full: "word ".repeat(30) });
    expect(plainText({ a: 1 })).toBe('{"a":1}');
  });
});

describe("time zones", () => {
  it("shows datetimes stored without a zone as stored, whatever the page's zone", () => {
    for (const zone of ["local", "utc"] as const) {
      expect(formatValue("2024-02-29T13:45:10", column("at", "datetime"), zone)).toEqual({
        kind: "text",
        text: "2024-02-29 13:45:10",
      });
    }
    expect(formatDateTime("2024-02-29 13:45:10.250", "utc")).toBe("2024-02-29 13:45:10.250");
  });

  it("shows instants (a Z or an offset) in the page's zone", () => {
    expect(formatDateTime("2024-02-29T13:45:10Z", "utc")).toBe(
      new Date("2024-02-29T13:45:10Z").toLocaleString(undefined, { timeZone: "UTC" }),
    );
    expect(formatDateTime("2024-02-29T15:45:10+02:00", "utc")).toBe(formatDateTime("2024-02-29T13:45:10Z", "utc"));
    expect(formatClock("2024-02-29T13:45:10.000Z", "utc")).toBe(
      new Date("2024-02-29T13:45:10Z").toLocaleTimeString(undefined, {
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        timeZone: "UTC",
      }),
    );
    expect(zoneName("utc")).toBe("UTC");
    expect(zoneName("local")).toBe(`local time (${Intl.DateTimeFormat().resolvedOptions().timeZone})`);
  });
});
