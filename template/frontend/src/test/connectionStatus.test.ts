import { describe, expect, it } from "vitest";
import { describeStatus } from "../components/ConnectionStatus";

describe("the connection status", () => {
  it("tells 'starting' (the server waits for the database) apart from connecting and live", () => {
    const now = 1_000_000;
    const texts = [
      describeStatus({ state: "connecting" }, now),
      describeStatus({ state: "starting", message: "waiting for the database" }, now),
      describeStatus({ state: "live" }, now),
      describeStatus({ state: "reconnecting", attempt: 2, retryAt: now + 1500 }, now),
      describeStatus({ state: "offline" }, now),
    ];
    expect(texts).toEqual([
      "Connecting…",
      "Server starting: waiting for the database",
      "Live",
      "Reconnecting in 2 s (try 2)",
      "Offline",
    ]);
  });

  it("says why the server closed the connection, when it said", () => {
    const now = 1_000_000;
    const status = { state: "reconnecting", attempt: 1, retryAt: now + 900, reason: "server full: 3 connections (WS_MAX_CLIENTS)" } as const;
    expect(describeStatus(status, now)).toBe("Reconnecting in 1 s (try 1): server full: 3 connections (WS_MAX_CLIENTS)");
  });
});
