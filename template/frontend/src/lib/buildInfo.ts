/** Defined by the build (vite.config.ts): the hash of the sources this bundle was made from (sourceVersion.ts). */
declare const __FRONTEND_VERSION__: string | undefined;

/** "" when nothing defined it, which proves nothing, so no stale-build notice then. */
export const FRONTEND_VERSION: string = typeof __FRONTEND_VERSION__ === "string" ? __FRONTEND_VERSION__ : "";
