// @vitest-environment node
import { describe, expect, it } from "vitest";
import { EVERYTHING, historyUrl, parseServerMessage, socketUrl } from "../lib/protocol";
import { orderEvent } from "./protocolServer";

const frame = (value: unknown) => JSON.stringify(value);

describe("the client side of the protocol", () => {
  it("builds URLs that carry the resume point and never a token", () => {
    expect(socketUrl("http://h:8000/ignored?token=old", null)).toBe("ws://h:8000/ws");
    expect(socketUrl("https://h", 42)).toBe("wss://h/ws?after=42");
    expect(historyUrl("http://h:8000", 7, 50)).toBe("http://h:8000/api/events?before=8&limit=50");
  });

  it("asks for compression only when told to", () => {
    expect(socketUrl("http://h", 42, EVERYTHING, "deflate")).toBe("ws://h/ws?after=42&compression=deflate");
    expect(socketUrl("https://h", null, { entities: ["Order"], types: null }, "deflate")).toBe(
      "wss://h/ws?entities=Order&compression=deflate",
    );
    expect(socketUrl("http://h", null, EVERYTHING, null)).toBe("ws://h/ws");
  });

  it("reads every message type of protocol 1 and of older servers", () => {
    expect(parseServerMessage(frame({ type: "starting", message: "waiting for the database" }))).toEqual({
      type: "starting",
      message: "waiting for the database",
    });
    const hello = { last_event_id: 9, resume_after: 8, poll_interval_ms: 500, server_time: 1.5 };
    expect(parseServerMessage(frame({ type: "hello", protocol: 1, ...hello }))).toEqual({
      type: "hello",
      protocol: 1,
      ...hello,
    });
    expect(parseServerMessage(frame({ type: "hello", ...hello }))).toMatchObject({ type: "hello", protocol: undefined });
    // The compression the client asked for; a name it does not know is left out (it never asks for one).
    expect(parseServerMessage(frame({ type: "hello", protocol: 1, compression: "deflate", ...hello }))).toEqual({
      type: "hello",
      protocol: 1,
      compression: "deflate",
      ...hello,
    });
    expect(parseServerMessage(frame({ type: "hello", protocol: 1, compression: "br", ...hello }))).not.toHaveProperty(
      "compression",
    );
    expect(parseServerMessage(frame({ type: "events", events: [orderEvent(3)], resume_after: 3, replay: true }))).toEqual({
      type: "events",
      events: [orderEvent(3)],
      resume_after: 3,
      replay: true,
    });
    expect(parseServerMessage(frame({ type: "heartbeat", last_event_id: 4, resume_after: 4 }))).toEqual({
      type: "heartbeat",
      last_event_id: 4,
      resume_after: 4,
    });
    expect(
      parseServerMessage(frame({ type: "reset", reason: "truncated", message: "m", oldest_event_id: 5, last_event_id: 9 })),
    ).toEqual({ type: "reset", reason: "truncated", message: "m", oldest_event_id: 5, last_event_id: 9 });
    expect(parseServerMessage(frame({ type: "pong", id: 7 }))).toEqual({ type: "pong", id: 7 });
    expect(parseServerMessage(frame({ type: "error", message: "bad" }))).toEqual({ type: "error", message: "bad" });
  });

  it("returns null for what it cannot use, and drops malformed events from a batch", () => {
    for (const bad of [
      "not json",
      frame([1, 2]),
      frame(null),
      frame({ type: "from-the-future" }),
      frame({ type: "hello", last_event_id: "9", resume_after: 8 }),
      frame({ type: "events", events: {}, resume_after: 1 }),
      frame({ type: "events", events: [], resume_after: -1 }),
      frame({ type: "heartbeat" }),
      frame({ type: "reset", reason: "because" }),
    ]) {
      expect(parseServerMessage(bad), bad).toBeNull();
    }
    expect(parseServerMessage(new ArrayBuffer(4))).toBeNull();
    const mixed = parseServerMessage(
      frame({ type: "events", events: [{ id: 1.5 }, { ...orderEvent(2), data: null }, orderEvent(3)], resume_after: 3 }),
    );
    expect(mixed).toMatchObject({ type: "events", events: [orderEvent(3)], resume_after: 3 });
  });

  it("keeps an update's old values and drops an event whose old values are no object", () => {
    const update = orderEvent(4, "update");
    const older = { ...orderEvent(5, "update"), old: undefined }; // a server before old values
    const parsed = parseServerMessage(
      frame({ type: "events", events: [update, { ...orderEvent(6, "update"), old: [1] }, older], resume_after: 6 }),
    );
    expect(parsed).toEqual({ type: "events", events: [update, older], resume_after: 6, replay: false });
    expect(update.old).toEqual({ total_price: 4 });
  });
});
