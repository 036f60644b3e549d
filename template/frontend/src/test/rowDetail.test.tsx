import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { countLabel, EventTable } from "../components/EventTable";
import { textOn } from "../components/EventBadge";
import { detailJson, RowDetail } from "../components/RowDetail";
import { TimeZoneContext } from "../hooks/useTimeZone";
import { orderEntities, orderEvent } from "./protocolServer";

afterEach(cleanup);

const [order] = orderEntities();
if (order === undefined) throw new Error("no entity");

describe("row detail", () => {
  it("shows every column, the event, and old -> new for each changed column", () => {
    const update = {
      ...orderEvent(7, "update"),
      data: { id: 2, order_key: "K-7", total_price: 12, note: "not in the model" },
      changed: ["id", "total_price"],
      old: { id: 1, total_price: 10.5 },
    };
    render(
      <TimeZoneContext value="utc">
        <RowDetail entity={order} row={update.data} event={update} onClose={() => {}} />
      </TimeZoneContext>,
    );
    const dialog = screen.getByTestId("row-detail");
    expect(within(dialog).getByRole("heading", { level: 2 }).textContent).toContain("Event 7");
    expect(screen.getByTestId("row-detail-time").textContent).toContain("(UTC)");
    const changes = screen.getByTestId("row-detail-changes");
    const rows = within(changes).getAllByRole("row").map((row) => row.textContent);
    expect(rows.slice(1)).toEqual(["id1→2", "total_price10.50→12.00"]);
    const columns = within(screen.getByTestId("row-detail-columns")).getAllByRole("row");
    // Every column of the model (not only the display fields), then what the row has beyond it.
    expect(columns.map((row) => row.querySelector("th span")?.textContent)).toEqual(["id", "order_key", "total_price", "note"]);
    expect(JSON.parse(detailJson(order, update.data, update))).toEqual(JSON.parse(JSON.stringify(update)));
  });

  it("copies the event as JSON", async () => {
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const insert = orderEvent(3);
    render(<RowDetail entity={order} row={insert.data} event={insert} onClose={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Copy as JSON" }));
    await screen.findByText("Copied");
    const [copied] = writeText.mock.calls[0] as unknown as [string];
    expect(JSON.parse(copied)).toEqual(JSON.parse(JSON.stringify(insert)));
  });

  it("opens from a table row with Enter or a click, and closes", () => {
    render(
      <EventTable
        title="Order"
        testId="order"
        entity={order}
        events={[orderEvent(2), orderEvent(1)]}
        columns={order.columns}
        autoScroll={false}
        exportCsv={false}
      />,
    );
    const [, newest, older] = screen.getAllByRole("row");
    // One Tab stop per table (the newest row); arrow keys move between rows.
    expect([newest?.tabIndex, older?.tabIndex]).toEqual([0, -1]);
    (newest as HTMLElement).focus();
    fireEvent.keyDown(newest as HTMLElement, { key: "ArrowDown" });
    expect(document.activeElement).toBe(older);
    fireEvent.keyDown(older as HTMLElement, { key: "ArrowUp" });
    expect(document.activeElement).toBe(newest);
    fireEvent.keyDown(newest as HTMLElement, { key: "Enter" });
    expect(screen.getByTestId("row-detail").textContent).toContain("Event 2");
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(screen.queryByTestId("row-detail")).toBeNull();
  });
});

describe("numbers that say what they are", () => {
  it("counts events buffered against the most kept, and what a filter shows", () => {
    expect(countLabel(12, 12, 500)).toBe("12 events buffered (of 500)");
    expect(countLabel(1, 1, 500)).toBe("1 event buffered (of 500)");
    expect(countLabel(3, 12, 500)).toBe("3 shown · 12 events buffered (of 500)");
  });

  it("puts readable text on any entity color", () => {
    expect(textOn("#1d4ed8")).toBe("#ffffff");
    expect(textOn("#fde047")).toBe("#0f172a");
  });
});
