"""Which entries of the entities folder may be read."""

from __future__ import annotations

from pathlib import Path

from .errors import ModelError


def require_inside(path: Path, folder: Path) -> None:
    """Refuse a symbolic link that leaves ``folder`` or leads nowhere.

    Following it would read (and, in an error message, show) a file the user
    never meant to hand over, such as ``/etc/passwd``. The message names the
    link only: neither its target nor anything read from it.
    """
    if not path.is_symlink():
        return
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # broken link, or a loop (RuntimeError before Python 3.13)
        raise ModelError("is a symbolic link that leads nowhere; replace it with the file itself", file=path) from None
    if not target.is_relative_to(folder.resolve()):
        raise ModelError(
            "is a symbolic link to a file outside the entities folder; copy the file into the folder instead",
            file=path,
        )
