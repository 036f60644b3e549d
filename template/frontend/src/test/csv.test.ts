import { describe, expect, it } from "vitest";
import { csvField, toCsv } from "../lib/csv";
import { orderEvent } from "./protocolServer";

describe("CSV export", () => {
  it("quotes only what needs quoting, doubling quotes", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField(" padded ")).toBe('" padded "');
    expect(csvField("")).toBe("");
  });

  it("writes a header, the event columns and the chosen fields, CRLF-terminated", () => {
    const event = {
      ...orderEvent(1),
      data: { order_key: 'K,"1"', note: null, tags: ["a", "b"], price: 2.5 },
    };
    const csv = toCsv([event], ["order_key", "note", "tags", "price", "missing"]);
    expect(csv).toBe(
      "event_id,timestamp,entity,event_type,order_key,note,tags,price,missing\r\n" +
        `1,${event.timestamp},Order,insert,"K,""1""",,"[""a"",""b""]",2.5,\r\n`,
    );
  });
});
