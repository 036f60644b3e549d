"""Update migration: re-read the entity YAML into the ``entities_snapshot`` answer.

Copier runs this at the ``before`` stage of every ``copier update``, in the
project's root, after it has rendered the old template version with the old
answers. Refreshing the answer here makes the new render follow the YAML while
the 3-way merge still sees the user's own edits (see docs/design.md).

Usage: python refresh_snapshot.py ANSWERS_FILE
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

# The template checkout Copier runs this from; its `extensions` package must win.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extensions.entity_model import ModelError, load_project, resolve_entities_dir


def refresh(answers_file: Path, project_root: Path) -> None:
    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ModelError(f"cannot read the Copier answers: {error}", file=answers_file.name) from None
    entities_dir = answers.get("entities_dir")
    if not isinstance(entities_dir, str):
        raise ModelError("has no entities_dir answer", file=answers_file.name)
    model = load_project(resolve_entities_dir(entities_dir, project_root))
    for item in model.skipped:
        print(item.line, file=sys.stderr)
    # Round-trip through JSON so the YAML holds plain lists and dicts only.
    answers["entities_snapshot"] = json.loads(json.dumps(model.to_snapshot()))
    answers_file.write_text(yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: refresh_snapshot.py ANSWERS_FILE", file=sys.stderr)
        return 2
    try:
        refresh(Path(argv[1]), Path.cwd())
    except ModelError as error:
        print(f"dashboard-template: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
