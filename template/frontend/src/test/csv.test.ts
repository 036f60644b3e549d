import { describe, expect, it } from "vitest";
import { cellText, csvField, toCsv } from "../lib/csv";
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

  it("defuses cells a spreadsheet would run as formulas (OWASP CSV injection)", () => {
    expect(cellText("=cmd|' /C calc'!A0")).toBe("'=cmd|' /C calc'!A0");
    expect(cellText("+1+1")).toBe("'+1+1");
    expect(cellText("-2+3+cmd|' /C calc'!A0")).toBe("'-2+3+cmd|' /C calc'!A0");
    expect(cellText("@SUM(A1:A9)")).toBe("'@SUM(A1:A9)");
    expect(cellText("\t=1+1")).toBe("'\t=1+1");
    expect(cellText("\r=1+1")).toBe("'\r=1+1");
    expect(cellText("a=1+1")).toBe("a=1+1");
    expect(cellText("")).toBe("");
    expect(cellText(null)).toBe("");
  });

  it("keeps real numbers numeric and defuses text that only looks like one", () => {
    expect(cellText(-5)).toBe("-5");
    expect(cellText(-0.25)).toBe("-0.25");
    expect(cellText(1e21)).toBe("1e+21");
    expect(cellText("-5")).toBe("'-5");
  });

  it("defuses before quoting, so both protections hold in the file", () => {
    const event = {
      ...orderEvent(7),
      data: { note: '=HYPERLINK("http://evil.example","x")', cr: "\r=1", balance: -5, code: "-5" },
    };
    const csv = toCsv([event], ["note", "cr", "balance", "code"]);
    expect(csv.split("\r\n")[1]).toBe(
      `7,${event.timestamp},Order,insert,"'=HYPERLINK(""http://evil.example"",""x"")","'\r=1",-5,'-5`,
    );
  });
});
