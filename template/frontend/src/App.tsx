import { useMemo } from "react";
import { Dashboard } from "./components/Dashboard";
import { isStaleBuild, StaleBuildBanner } from "./components/StaleBuildBanner";
import { PROJECT_NAME } from "./generated/entities";
import { useDashboardModel } from "./hooks/useDashboardModel";
import { Api } from "./lib/api";
import { FRONTEND_VERSION } from "./lib/buildInfo";

/** Loads the session and the entity model from the backend (never from the bundle), then shows the dashboard. */
export function App() {
  const api = useMemo(() => new Api(), []);
  const loaded = useDashboardModel(api);
  if (loaded.state === "ready") {
    return (
      <>
        {/* The dev server rebuilds on every edit: nothing there can be stale. */}
        {!import.meta.env.DEV && isStaleBuild(FRONTEND_VERSION, loaded.model.frontendVersion) && <StaleBuildBanner />}
        <Dashboard title={PROJECT_NAME} model={loaded.model} session={loaded.session} api={api} />
      </>
    );
  }
  return (
    <main className="mx-auto flex max-w-screen-md flex-col gap-2 p-5" aria-busy="true">
      <h1 className="text-xl font-bold">{PROJECT_NAME}</h1>
      <p role="status" data-testid="model-status" className="text-sm text-slate-600 dark:text-slate-300">
        {loaded.problem ? `Cannot load the entities (${loaded.problem}); retrying…` : "Loading…"}
      </p>
    </main>
  );
}
