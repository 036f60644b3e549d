import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { isStaleBuild, REBUILD_COMMAND, StaleBuildBanner } from "../components/StaleBuildBanner";
import { parseDashboardModel } from "../lib/entityModel";

afterEach(cleanup);

const body = (version?: string) => ({
  entities: [],
  features: {
    statistics: true,
    filters: true,
    search: true,
    pause: true,
    auto_scroll: true,
    export_csv: true,
    dark_mode: true,
  },
  ...(version === undefined ? {} : { frontend_version: version }),
});

describe("stale frontend build", () => {
  it("reads the backend's frontend version, empty when it sends none", () => {
    expect(parseDashboardModel(body("0123abcd")).frontendVersion).toBe("0123abcd");
    expect(parseDashboardModel(body()).frontendVersion).toBe("");
    expect(() => parseDashboardModel({ ...body(), frontend_version: 7 })).toThrow("/api/entities: frontend_version");
  });

  it("is stale only when both versions are known and differ", () => {
    expect(isStaleBuild("aaaa", "bbbb")).toBe(true);
    expect(isStaleBuild("aaaa", "aaaa")).toBe(false);
    expect(isStaleBuild("aaaa", "")).toBe(false);
    expect(isStaleBuild("", "bbbb")).toBe(false);
  });

  it("says what to run", () => {
    render(<StaleBuildBanner />);
    const banner = screen.getByRole("alert");
    expect(banner.textContent).toContain("This page was built from older frontend sources - rebuild the frontend");
    expect(banner.textContent).toContain(REBUILD_COMMAND);
  });
});
