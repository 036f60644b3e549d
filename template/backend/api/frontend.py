"""The built frontend at ``/``, or, until it is built, a page saying how to build it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Dashboard: the page is not built yet</title>
<h1>The dashboard page is not built yet</h1>
<p>The backend is running, but the built frontend (<code>FRONTEND_DIST</code>, by default
<code>frontend/dist</code>) has no <code>index.html</code>. Build it once, from the project folder:</p>
<pre>cd frontend
npm ci
npm run build</pre>
<p>Then reload this page; the backend need not be restarted.</p>
</html>
"""


class Frontend:
    """An ASGI app mounted at ``/``: ``FRONTEND_DIST`` as static files once it holds a build.

    Checked on every request, so a build made while the backend runs is served at once.
    Before that, ``/`` answers 503 with :data:`NOT_BUILT_PAGE`: 503 rather than 200, so a
    probe or a cache never takes the help text for the dashboard (``/health`` stays the
    backend's own check). The page names no server path. Other paths answer 404.
    """

    def __init__(self, dist: Path):
        self.dist = dist
        self._files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a WebSocket to a path other than /ws
            await WebSocketClose()(scope, receive, send)
            return
        if (self.dist / "index.html").is_file():
            if self._files is None:
                self._files = StaticFiles(directory=self.dist, html=True)
            await self._files(scope, receive, send)
            return
        response: Response
        if scope["path"] in ("/", "/index.html") and scope.get("method") in ("GET", "HEAD"):
            response = HTMLResponse(NOT_BUILT_PAGE, status_code=503, headers={"Cache-Control": "no-store"})
        else:
            response = JSONResponse({"detail": "Not Found"}, status_code=404)
        await response(scope, receive, send)


# The rule of frontend/sourceVersion.ts, which the build embeds: keep the two in step.
TOP_LEVEL_FILES = (
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "sourceVersion.ts",
)
SKIPPED_FOLDERS = frozenset({"src/test"})


def _source_files(root: Path, folder: str) -> list[str]:
    found: list[str] = []
    for entry in (root / folder).iterdir():
        path = f"{folder}/{entry.name}"
        if entry.is_dir():
            if path not in SKIPPED_FOLDERS:
                found.extend(_source_files(root, path))
        elif entry.is_file():
            found.append(path)
    return found


def source_version(dist: Path) -> str:
    """The hash of the frontend sources next to ``dist`` as they are now, or "" where there are none.

    The page compares it with the hash its build embedded: when they differ, the sources
    changed (a ``copier update``, an edit) after the page was built, and it says so. A
    backend without the sources (its container image holds only the backend) sends "",
    which the page takes as "cannot tell".
    """
    root = dist.parent
    if not (root / "package.json").is_file() or not (root / "src").is_dir():
        return ""
    try:
        top_level = [name for name in TOP_LEVEL_FILES if (root / name).is_file()]
        files = sorted(top_level + _source_files(root, "src"))
        digest = hashlib.sha256()
        for path in files:
            content = hashlib.sha256((root / path).read_bytes()).hexdigest()
            digest.update(f"{path}\0{content}\n".encode())
    except OSError:  # a file removed while we read: next request tells
        return ""
    return digest.hexdigest()[:16]
