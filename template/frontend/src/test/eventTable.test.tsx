import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { EventTable } from "../components/EventTable";
import { orderEntities, orderEvent } from "./protocolServer";

afterEach(cleanup);

describe("an update's old values in the entity table", () => {
  it("shows the old value of each changed cell as a tooltip and as text for screen readers", () => {
    const [entity] = orderEntities();
    const update = { ...orderEvent(2, "update"), changed: ["id", "total_price"], old: { id: 1, total_price: 1.5 } };
    render(
      <EventTable
        title="Order"
        testId="order"
        events={[update, orderEvent(1)]}
        columns={entity?.columns ?? []}
        autoScroll={false}
        exportCsv={false}
      />,
    );
    const [, updated, inserted] = screen.getAllByRole("row");
    // Time, Event, then id, order_key, total_price.
    const [, , id, key, price] = Array.from(updated?.querySelectorAll("td") ?? []);
    expect(id?.title).toBe("was: 1");
    expect(id?.textContent).toContain("(was: 1)");
    expect(key?.title).toBe("");
    expect(price?.title).toBe("was: 1.50"); // formatted as the cell is (a price)
    expect(price?.querySelector(".sr-only")?.textContent).toBe(" (was: 1.50)");
    expect(inserted?.querySelectorAll("td[title]")).toHaveLength(0);
  });
});
