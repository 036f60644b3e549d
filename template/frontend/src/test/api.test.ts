import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Api, SignedOut } from "../lib/api";

/** A real HTTP server standing in for the backend's session endpoints. */
let server: Server;
let baseUrl: string;
let signedIn: boolean;
const requests: string[] = [];

beforeEach(async () => {
  signedIn = true;
  requests.length = 0;
  server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (!signedIn) {
      response.statusCode = 401;
      response.end('{"detail":"sign in"}');
    } else if (request.method === "DELETE" && request.url === "/api/session") {
      signedIn = false;
      response.statusCode = 204;
      response.end();
    } else if (request.url === "/api/session") {
      response.setHeader("content-type", "application/json");
      response.end('{"required":true}');
    } else if (request.url === "/api/broken") {
      response.statusCode = 503;
      response.end("{}");
    } else {
      response.setHeader("content-type", "application/json");
      response.end('{"ok":1}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("Api", () => {
  it("reads JSON and the session", async () => {
    const api = new Api({ baseUrl, onSignedOut: () => undefined });
    expect(await api.getJson("/api/stats")).toEqual({ ok: 1 });
    expect(await api.session()).toEqual({ required: true });
  });

  it("names the path and status of an HTTP error", async () => {
    const api = new Api({ baseUrl, onSignedOut: () => undefined });
    await expect(api.getJson("/api/broken")).rejects.toThrow("/api/broken answered HTTP 503");
  });

  it("goes to the login on 401 and throws SignedOut", async () => {
    let signOuts = 0;
    const api = new Api({ baseUrl, onSignedOut: () => (signOuts += 1) });
    signedIn = false;
    await expect(api.getJson("/api/entities")).rejects.toBeInstanceOf(SignedOut);
    expect(signOuts).toBe(1);
  });

  it("signs out with DELETE /api/session, then shows the login once", async () => {
    let signOuts = 0;
    const api = new Api({ baseUrl, onSignedOut: () => (signOuts += 1) });
    await api.signOut();
    expect(requests).toEqual(["DELETE /api/session"]);
    expect(signOuts).toBe(1);
    await api.signOut(); // the cookie is already gone: 401, still one trip to the login per call
    expect(signOuts).toBe(2);
  });
});
