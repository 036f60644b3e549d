/**
 * A small HTTP + WebSocket server speaking the backend's protocol, driven by
 * the test: the hook under test talks to it over real sockets (jsdom's
 * WebSocket and fetch), so reconnects and resumes happen as in a browser.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { deflateSync } from "node:zlib";
import { WebSocketServer, type WebSocket } from "ws";
import type { DbEvent, EntityConfig, ServerMessage } from "../lib/types";

/** The one entity of these tests: orders, at most `maxRecords` rows shown. */
export function orderEntities(maxRecords = 3): EntityConfig[] {
  return [
    {
      name: "Order",
      table: "orders",
      kind: "root",
      idColumn: "id",
      color: "#3b82f6",
      icon: "📦",
      doc: "",
      columns: [
        { name: "id", type: "integer", nullable: false, primaryKey: true, length: null, doc: "" },
        { name: "order_key", type: "string", nullable: false, primaryKey: false, length: 50, doc: "" },
        { name: "total_price", type: "float", nullable: false, primaryKey: false, length: null, doc: "" },
      ],
      displayFields: ["order_key", "total_price"],
      maxRecords,
      eventTypes: ["insert", "update", "delete"],
    },
  ];
}

export const STARTING_MESSAGE = "waiting for the database";

export class ProtocolServer {
  readonly connections: { url: string; socket: WebSocket }[] = [];
  readonly historyRequests: { url: string; headers: IncomingMessage["headers"] }[] = [];
  history: DbEvent[] = [];
  /** When set, the body of `GET /api/events` for that request (a backfill asks with filters). */
  historyFor: ((url: URL) => DbEvent[]) | null = null;
  /** The body of `GET /api/alerts`; every other path answers the history. */
  alerts: unknown[] = [];
  readonly alertRequests: string[] = [];
  lastEventId = 0;
  resumeAfter = 0;
  /** Protocol 1 servers say so in the hello; older ones send no `protocol`. */
  protocol: number | null = null;
  /**
   * While true, a new connection gets `starting` (repeated every `startingEveryMs`,
   * as the real server repeats it every heartbeat) instead of `hello`; `ready()` ends it.
   */
  starting = false;
  startingEveryMs = 50;
  /**
   * For connections that ask `?compression=deflate`: `events` messages of at
   * least this many bytes of JSON go as binary frames (zlib), as the backend
   * sends them; 0 (the default here) compresses them all, so every test reads a
   * mix of binary events and text frames.
   */
  compressFrom = 0;
  /** Binary frames sent (compressed `events` messages and raw bytes). */
  binaryFrames = 0;
  private readonly compressed = new WeakSet<WebSocket>();
  private readonly waiting = new Map<WebSocket, ReturnType<typeof setInterval>>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;

  constructor() {
    this.http = createServer((request, response) => {
      response.setHeader("content-type", "application/json");
      if (request.url?.startsWith("/api/alerts")) {
        this.alertRequests.push(request.url);
        response.end(JSON.stringify(this.alerts));
        return;
      }
      this.historyRequests.push({ url: request.url ?? "", headers: request.headers });
      const events = this.historyFor?.(new URL(request.url ?? "/", "http://server")) ?? this.history;
      response.end(JSON.stringify({ events, next_after: null }));
    });
    this.wss = new WebSocketServer({ server: this.http });
    this.wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
      this.connections.push({ url: request.url ?? "", socket });
      const asked = new URL(request.url ?? "/", "http://server").searchParams.get("compression");
      if (asked === "deflate") this.compressed.add(socket);
      if (!this.starting) {
        this.hello(socket);
        return;
      }
      const sendStarting = () => this.message(socket, { type: "starting", message: STARTING_MESSAGE });
      sendStarting();
      this.waiting.set(socket, setInterval(sendStarting, this.startingEveryMs));
      socket.on("close", () => this.stopWaiting(socket));
    });
  }

  /** The head is known: every connection still starting gets its hello. */
  ready(): void {
    this.starting = false;
    for (const socket of [...this.waiting.keys()]) {
      this.stopWaiting(socket);
      this.hello(socket);
    }
  }

  private stopWaiting(socket: WebSocket): void {
    clearInterval(this.waiting.get(socket));
    this.waiting.delete(socket);
  }

  private hello(socket: WebSocket): void {
    this.message(socket, {
      type: "hello",
      ...(this.protocol === null ? {} : { protocol: this.protocol }),
      last_event_id: this.lastEventId,
      resume_after: this.resumeAfter,
      poll_interval_ms: 100,
      server_time: Date.now() / 1000,
      ...(this.compressed.has(socket) ? { compression: "deflate" } : {}),
    });
  }

  message(socket: WebSocket, message: ServerMessage): void {
    const text = JSON.stringify(message);
    if (message.type === "events" && this.compressed.has(socket) && Buffer.byteLength(text) >= this.compressFrom) {
      socket.send(deflateSync(text)); // a Buffer: a binary frame
      this.binaryFrames += 1;
    } else {
      socket.send(text);
    }
  }

  /** A frame as is, e.g. one the client must skip; bytes go as a binary frame. */
  raw(frame: string | Uint8Array): void {
    this.latest.send(frame);
    if (typeof frame !== "string") this.binaryFrames += 1;
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
    this.message(this.latest, { type: "events", events, resume_after: resumeAfter });
  }

  heartbeat(resumeAfter: number): void {
    this.message(this.latest, { type: "heartbeat", last_event_id: this.lastEventId, resume_after: resumeAfter });
  }

  reset(reason: "ahead" | "truncated"): void {
    this.message(this.latest, { type: "reset", reason, message: `test reset: ${reason}`, last_event_id: this.lastEventId });
  }

  /** Closes every connection with a close frame, as the backend does (e.g. 1013 "server full"). */
  closeAll(code: number, reason: string): void {
    for (const { socket } of this.connections) socket.close(code, reason);
  }

  dropAll(): void {
    for (const { socket } of this.connections) socket.terminate();
  }

  async stop(): Promise<void> {
    for (const socket of [...this.waiting.keys()]) this.stopWaiting(socket);
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
    old: type === "update" ? { total_price: id } : null,
    timestamp: new Date(1_700_000_000_000 + id * 1000).toISOString(),
  };
}
