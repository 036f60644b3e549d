/** The command that rebuilds this page, from the project folder (README: "After `copier update`"). */
export const REBUILD_COMMAND = "cd frontend && npm ci && npm run build";

/**
 * Whether this bundle was built from other sources than the frontend folder holds now:
 * after a `copier update` or an edit, until the frontend is rebuilt. An empty version (a
 * backend that cannot see the sources, or a bundle from before versions) proves nothing.
 */
export function isStaleBuild(builtFor: string, served: string): boolean {
  return builtFor !== "" && served !== "" && builtFor !== served;
}

/** Says the page is out of date, instead of silently running code its sources no longer have. */
export function StaleBuildBanner() {
  return (
    <div
      role="alert"
      data-testid="stale-build"
      className="border-b border-amber-300 bg-amber-100 px-5 py-2 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-900/60 dark:text-amber-100"
    >
      This page was built from older frontend sources - rebuild the frontend (<code>{REBUILD_COMMAND}</code>)
      and reload.
    </div>
  );
}
