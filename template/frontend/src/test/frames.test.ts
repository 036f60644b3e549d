// @vitest-environment node
import { deflateRawSync, deflateSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { browserDecompress, type Decompress, FrameReader, inflate } from "../lib/frames";

/** A Node Buffer's bytes, as a socket with binaryType "arraybuffer" hands them over. */
const arrayBuffer = (bytes: Buffer): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** The zlib stream of `text`. */
const deflated = (text: string): ArrayBuffer => arrayBuffer(deflateSync(text));

/** A decompressor whose n-th answer comes when the test releases it, with the real inflate's result. */
function heldInflate(): { decompress: Decompress; release: (call: number) => void } {
  const gates: (() => void)[] = [];
  const decompress: Decompress = async (data) => {
    await new Promise<void>((resolve) => gates.push(resolve));
    return inflate(data);
  };
  return { decompress, release: (call) => gates[call]?.() };
}

function reader(decompress: Decompress | null) {
  const read: unknown[] = [];
  let undecodable = 0;
  const frames = new FrameReader(decompress, (frame) => read.push(frame), () => (undecodable += 1));
  return { frames, read, undecodable: () => undecodable };
}

describe("inflate", () => {
  it("reads the zlib stream the backend sends (DecompressionStream 'deflate'), UTF-8 included", async () => {
    const text = JSON.stringify({ type: "events", events: [{ name: "Zürich €" }], pad: "x".repeat(100_000) });
    expect(await inflate(deflated(text))).toBe(text);
    expect(browserDecompress()).toBe(inflate); // Node 20 has DecompressionStream, as browsers do
  });

  it("rejects bytes that are no zlib stream, and a stream cut short", async () => {
    await expect(inflate(new Uint8Array([1, 2, 3, 4]).buffer)).rejects.toThrow();
    await expect(inflate(deflated("a text long enough to be cut").slice(0, 6))).rejects.toThrow();
    // Raw deflate (no zlib header) is another format: the server must send RFC 1950.
    await expect(inflate(arrayBuffer(deflateRawSync("{}")))).rejects.toThrow();
  });
});

describe("the frame reader", () => {
  it("hands a text frame on at once when nothing is being inflated", () => {
    const { frames, read } = reader(inflate);
    frames.take("a");
    frames.take("b");
    expect(read).toEqual(["a", "b"]); // synchronously: no extra latency for text-only streams
  });

  it("keeps arrival order: text frames wait behind a binary frame being inflated", async () => {
    const { decompress, release } = heldInflate();
    const { frames, read } = reader(decompress);
    frames.take(deflated("first"));
    frames.take("second");
    frames.take(deflated("third"));
    frames.take("fourth");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read).toEqual([]);
    release(0);
    await vi.waitFor(() => expect(read).toEqual(["first", "second"]));
    release(1);
    await vi.waitFor(() => expect(read).toEqual(["first", "second", "third", "fourth"]));
    frames.take("fifth"); // idle again: at once
    expect(read).toEqual(["first", "second", "third", "fourth", "fifth"]);
  });

  it("hands on in arrival order when a later binary frame inflates first", async () => {
    const { decompress, release } = heldInflate();
    const { frames, read } = reader(decompress);
    frames.take(deflated("slow"));
    frames.take(deflated("fast"));
    release(1); // its text is ready first, and still waits for the first frame's
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(read).toEqual([]);
    release(0);
    await vi.waitFor(() => expect(read).toEqual(["slow", "fast"]));
  });

  it("stops at a binary frame it cannot inflate: reported once, nothing after it handed on", async () => {
    const { frames, read, undecodable } = reader(inflate);
    frames.take("before");
    frames.take(new Uint8Array([0x78, 0x9c, 9, 9, 9]).buffer);
    frames.take("after");
    frames.take(new Uint8Array([1, 2]).buffer);
    frames.take(deflated("later"));
    await vi.waitFor(() => expect(undecodable()).toBe(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    frames.take("much later");
    expect(read).toEqual(["before"]);
    expect(undecodable()).toBe(1);
  });

  it("treats a binary frame that is no ArrayBuffer (a Blob: binaryType not set) as undecodable", async () => {
    const { frames, read, undecodable } = reader(inflate);
    frames.take(new Blob([deflated("{}")]));
    await vi.waitFor(() => expect(undecodable()).toBe(1));
    expect(read).toEqual([]);
  });

  it("without a decompressor hands every frame on as it comes, as before compression", () => {
    const { frames, read, undecodable } = reader(null);
    const bytes = new ArrayBuffer(2);
    frames.take(bytes);
    frames.take("text");
    expect(read).toEqual([bytes, "text"]);
    expect(undecodable()).toBe(0);
  });
});
