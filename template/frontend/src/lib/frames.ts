/**
 * The frames of one socket, as JSON text, in the order they arrived. With
 * `?compression=deflate` an `events` message may come as a binary frame (the
 * zlib stream of its JSON text) among text frames; inflating one is
 * asynchronous, and the frames behind it wait for it: a heartbeat applied
 * before the events that preceded it would move the resume point past them.
 */

/** The JSON text of a binary frame; rejects when the bytes are no valid zlib stream. */
export type Decompress = (data: ArrayBuffer) => Promise<string>;

/** Inflates with the browser's DecompressionStream ("deflate" is the zlib format, RFC 1950). */
export async function inflate(data: ArrayBuffer): Promise<string> {
  const bytes = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(new Uint8Array(data));
      controller.close();
    },
  });
  // Response.text() reads the stream to its end and decodes UTF-8; a corrupt or cut stream rejects.
  return new Response(bytes.pipeThrough(new DecompressionStream("deflate"))).text();
}

/** `inflate` where the browser has DecompressionStream; null elsewhere (the client then asks for no compression). */
export function browserDecompress(): Decompress | null {
  return typeof DecompressionStream === "function" ? inflate : null;
}

/** Thrown from the event loop, as an exception in a WebSocket's onmessage would be: reported, not swallowed. */
const reportLater = (error: unknown): void => {
  setTimeout(() => {
    throw error;
  });
};

export class FrameReader {
  /** Frames taken but not yet handed on. */
  private waiting = 0;
  private tail: Promise<void> = Promise.resolve();
  private broken = false;

  /**
   * `read` gets each frame's text in arrival order; `undecodable` is called
   * once, for the first binary frame that cannot be read, and nothing after it
   * is handed on (the frames behind it would skip the events it held).
   * Without `decompress` every frame is handed on as it comes, as before compression.
   */
  constructor(
    private readonly decompress: Decompress | null,
    private readonly read: (frame: unknown) => void,
    private readonly undecodable: () => void,
  ) {}

  take(frame: unknown): void {
    if (this.broken) return;
    if (this.decompress === null || (this.waiting === 0 && typeof frame === "string")) {
      // Nothing ahead of it: handed on now, so text-only streams are no later than without compression.
      this.read(frame);
      return;
    }
    // Inflating starts at once (frames behind it are inflated meanwhile); only handing on waits its turn.
    const text = typeof frame === "string" ? Promise.resolve(frame) : this.decode(frame);
    // Handled below when its turn comes; until then a failure must not count as unhandled.
    text.catch(() => {});
    this.waiting += 1;
    this.tail = this.tail
      .then(() => text)
      .then(
        (decoded) => {
          this.waiting -= 1;
          if (!this.broken) this.read(decoded);
        },
        () => {
          this.waiting -= 1;
          if (this.broken) return;
          this.broken = true;
          this.undecodable();
        },
      )
      // A throwing reader must not stop the frames behind this one.
      .catch(reportLater);
  }

  private decode(frame: unknown): Promise<string> {
    // The tag, not instanceof: the socket's buffers may come from another realm (a test's `ws` under jsdom).
    if (this.decompress === null || Object.prototype.toString.call(frame) !== "[object ArrayBuffer]") {
      return Promise.reject(new TypeError("a binary frame that is not an ArrayBuffer"));
    }
    try {
      return this.decompress(frame as ArrayBuffer);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
