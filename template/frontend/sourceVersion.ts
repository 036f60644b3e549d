/**
 * The version of the sources a build is made from: a hash of every file that goes into the bundle.
 *
 * The build embeds it (vite.config.ts) and the backend computes it again from the files on disk
 * (backend/api/frontend.py, same rule, kept in step by the template's tests): when they differ,
 * the page was built before its sources last changed (a `copier update`, an edit) and says so.
 * The entity model is not part of it: the page reads the model from the backend at run time.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** The files outside src/ that change what is built. */
const TOP_LEVEL_FILES = [
  "index.html",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "vite.config.ts",
  "sourceVersion.ts",
];
/** Under src/, everything but the unit tests. */
const SKIPPED_FOLDERS = new Set([join("src", "test")]);

function sourceFiles(root: string, folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_FOLDERS.has(path)) found.push(...sourceFiles(root, path));
    } else if (entry.isFile()) {
      found.push(path);
    }
  }
  return found;
}

export function sourceVersion(root: string): string {
  const files = [...TOP_LEVEL_FILES.filter((name) => existsSync(join(root, name))), ...sourceFiles(root, "src")]
    .map((path) => relative(root, join(root, path)).split(sep).join("/"))
    .sort();
  const digest = createHash("sha256");
  for (const path of files) {
    const content = createHash("sha256").update(readFileSync(join(root, path))).digest("hex");
    digest.update(`${path}\0${content}\n`);
  }
  return digest.digest("hex").slice(0, 16);
}

