/**
 * A small HTTP + WebSocket server speaking the backend's protocol, driven by
 * the test: the hook under test talks to it over real sockets (jsdom's
 * WebSocket and fetch), so reconnects and resumes happen as in a browser.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { DbEvent } from "../lib/types";

export class ProtocolServer {
  readonly connections: { url: string; socket: WebSocket }[] = [];
  readonly historyRequests: string[] = [];
  history: DbEvent[] = [];
  lastEventId = 0;
  resumeAfter = 0;
  private readonly http: Server;
  private readonly wss: WebSocketServer;

  constructor() {
    this.http = createServer((request, response) => {
      this.historyRequests.push(request.url ?? "");
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ events: this.history, next_after: null }));
    });
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
      this.connections.push({ url: request.url ?? "", socket });
      socket.send(
        JSON.stringify({
          type: "hello",
          last_event_id: this.lastEventId,
          resume_after: this.resumeAfter,
          poll_interval_ms: 100,
          server_time: Date.now() / 1000,
        }),
      );
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.http.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  get latest(): WebSocket {
    const last = this.connections.at(-1);
    if (last === undefined) throw new Error("no connection yet");
    return last.socket;
  }

  send(events: DbEvent[], resumeAfter: number): void {
    this.latest.send(JSON.stringify({ type: "events", events, resume_after: resumeAfter }));
  }

  dropAll(): void {
    for (const { socket } of this.connections) socket.terminate();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

export function orderEvent(id: number, type: DbEvent["event_type"] = "insert", entity = "Order"): DbEvent {
  return {
    id,
    entity,
    event_type: type,
    data: { id, order_key: `O-${id}`, total_price: id * 1.5 },
    changed: type === "update" ? ["total_price"] : null,
    timestamp: new Date(1_700_000_000_000 + id * 1000).toISOString(),
  };
}
