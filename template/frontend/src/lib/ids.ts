/** The ids already applied, to drop repeats (replays after a reconnect) in O(1), with bounded memory. */
export class IdWindow {
  private readonly ids = new Set<number>();
  private readonly order: number[] = [];
  private head = 0;

  // A replay after a reconnect repeats at most the events since the last resume point:
  // seconds of traffic, far fewer than this. Bounded, so memory stays flat.
  constructor(private readonly capacity = 10_000) {}

  /** True the first time an id is seen. */
  add(id: number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.order.push(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.order[this.head];
      this.head += 1;
      if (oldest !== undefined) this.ids.delete(oldest);
      if (this.head > 4096) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
    return true;
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }

  clear(): void {
    this.ids.clear();
    this.order.length = 0;
    this.head = 0;
  }
}
