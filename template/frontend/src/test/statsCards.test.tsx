import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { StatsCards } from "../components/StatsCards";
import type { ServerStats } from "../hooks/useServerStats";
import { applyEvents, emptyData } from "../lib/store";
import { orderEntities, orderEvent } from "./protocolServer";

afterEach(cleanup);

const entities = orderEntities();
const started = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;

describe("stat cards", () => {
  it("count since the backend started, moving with live events between two /api/stats polls", () => {
    const server: ServerStats = {
      entities: { Order: { total_rows: 40, rows_estimated: false, inserts: 30, updates: 5, deletes: 1 } },
      since: started,
    };
    const before = applyEvents(emptyData(entities), [orderEvent(1)], entities, Date.now());
    const { rerender } = render(<StatsCards entities={entities} data={before} server={server} />);
    const card = () => screen.getByTestId("stats-Order").textContent ?? "";
    expect(card()).toContain("40 rows");
    expect(card()).toMatch(/Inserts30Updates5Deletes1/);
    // Two live events after the backend's counts arrived: added to them.
    const after = applyEvents(before, [orderEvent(2), orderEvent(3, "update")], entities, Date.now());
    rerender(<StatsCards entities={entities} data={after} server={server} />);
    expect(card()).toMatch(/Inserts31Updates6Deletes1/);
    expect(screen.getByTestId("stats-since").textContent).toContain("since the backend started (");
  });

  it("say 'since this page opened' until the backend answers", () => {
    const data = applyEvents(emptyData(entities), [orderEvent(1)], entities, Date.now());
    render(<StatsCards entities={entities} data={data} server={{ entities: {}, since: null }} />);
    expect(screen.getByTestId("stats-since").textContent).toContain("since this page opened");
    expect(screen.getByTestId("stats-Order").textContent).toMatch(/Inserts1Updates0/);
  });
});
