import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";
import { sourceVersion } from "./sourceVersion.ts"; // with its extension, as Node loads the config natively

// In development the backend runs on its own port; the dev server forwards
// the API and the WebSocket to it, so the page talks to one origin as in production.
const backend = process.env.BACKEND_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  // What the page was built from; the backend serves the same hash of the files on disk now.
  define: { __FRONTEND_VERSION__: JSON.stringify(sourceVersion(fileURLToPath(new URL(".", import.meta.url)))) },
  server: {
    proxy: {
      "/api": backend,
      "/health": backend,
      // The login page and /api/session live on the backend (the session cookie is set for this origin).
      "/login": backend,
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  build: { outDir: "dist", sourcemap: true },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
  },
});
