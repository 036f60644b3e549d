import { act, cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextTick, type Pace, usePaced } from "../hooks/usePaced";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

function Probe({ value, pace, seen }: { value: number; pace?: Pace; seen: number[] }) {
  const shown = usePaced(value, pace);
  seen.push(shown);
  return <span>{shown}</span>;
}

describe("usePaced", () => {
  it("puts each slot at its own phase of the period", () => {
    expect(nextTick(0, 250, 0, 4)).toBe(250);
    expect(nextTick(10, 250, 1, 4)).toBe(62.5);
    expect(nextTick(62.5, 250, 1, 4)).toBe(312.5);
    expect(nextTick(1000, 1000, 0, 1)).toBe(2000);
  });

  it("shows a value changing every 10 ms at most once per period, with one timer per tick", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const timers = vi.spyOn(globalThis, "setTimeout");
    const pace: Pace = { periodMs: 250, slot: 0, slots: 1 };
    const seen: number[] = [];
    const { rerender, container } = render(<Probe value={0} pace={pace} seen={seen} />);
    for (let value = 1; value <= 100; value += 1) {
      act(() => vi.advanceTimersByTime(10));
      rerender(<Probe value={value} pace={{ ...pace }} seen={seen} />);
    }
    act(() => vi.advanceTimersByTime(250));
    expect(container.textContent).toBe("100"); // the last value is drawn in the end
    const drawn = new Set(seen);
    // The first value, the first change (at once: quiet before), one per tick, and the last value.
    expect(drawn.size).toBeLessThanOrEqual(1 + 1 + Math.ceil(1000 / 250) + 1);
    expect(timers.mock.calls.length).toBeLessThanOrEqual(drawn.size + 1);
  });

  it("draws a change after a quiet period at once, and the next within the period at its tick", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    const pace: Pace = { periodMs: 250, slot: 0, slots: 1 };
    const seen: number[] = [];
    const { rerender, container } = render(<Probe value={0} pace={pace} seen={seen} />);
    act(() => vi.advanceTimersByTime(1000));
    rerender(<Probe value={1} pace={pace} seen={seen} />);
    act(() => vi.advanceTimersByTime(0));
    expect(container.textContent).toBe("1"); // quiet before: no wait for the tick
    act(() => vi.advanceTimersByTime(20));
    rerender(<Probe value={2} pace={pace} seen={seen} />);
    act(() => vi.advanceTimersByTime(100));
    expect(container.textContent).toBe("1"); // busy: waits for the slot's tick (t = 1250)
    act(() => vi.advanceTimersByTime(150));
    expect(container.textContent).toBe("2");
    act(() => vi.advanceTimersByTime(1000));
    rerender(<Probe value={3} pace={pace} seen={seen} />);
    act(() => vi.advanceTimersByTime(0));
    expect(container.textContent).toBe("3"); // quiet again
  });

  it("passes every value through without a pace", () => {
    const seen: number[] = [];
    const { rerender, container } = render(<Probe value={1} seen={seen} />);
    rerender(<Probe value={2} seen={seen} />);
    expect(container.textContent).toBe("2");
  });
});
