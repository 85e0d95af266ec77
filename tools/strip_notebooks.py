"""Keep notebooks in git without outputs: strip them, or check that they are stripped.

    python tools/strip_notebooks.py notebooks/          # strip outputs and execution counts in place
    python tools/strip_notebooks.py --check notebooks/  # exit 1 listing notebooks that still carry outputs

Outputs hold data of whoever ran the notebook last (customer emails, amounts) and make every diff noisy, so the
notebooks are committed clean; `make test` runs the check. Only outputs, execution counts and per-run metadata
are touched: sources, cell ids and tags (the "parameters" cell) stay as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Metadata that a run adds to cells (timings, scroll state), not part of the notebook's content.
RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def notebook_paths(targets: list[str]) -> list[Path]:
    """The .ipynb files named, or found under the directories named (checkpoints skipped), sorted."""
    found: set[Path] = set()
    for target in targets:
        path = Path(target)
        if path.is_dir():
            found.update(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb":
            found.add(path)
        else:
            raise SystemExit(f"{target}: not a notebook or a directory")
    return sorted(found)


def dirty_cells(notebook: dict) -> list[int]:
    """Indexes of the cells that carry outputs, an execution count or run metadata."""
    dirty = []
    for index, cell in enumerate(notebook.get("cells", [])):
        metadata = cell.get("metadata", {})
        if cell.get("outputs") or cell.get("execution_count") is not None or any(k in metadata for k in RUN_METADATA):
            dirty.append(index)
    return dirty


def strip(notebook: dict) -> dict:
    """The notebook without outputs, execution counts or run metadata (a new dict)."""
    clean = json.loads(json.dumps(notebook))
    for cell in clean.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in RUN_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return clean


def main(argv: list[str] | None = None) -> int:
    """Strip (default) or check (--check) the notebooks given; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", help="notebooks or directories")
    parser.add_argument("--check", action="store_true", help="only report notebooks with outputs (exit 1)")
    args = parser.parse_args(argv)
    problems = 0
    for path in notebook_paths(args.targets):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cells = dirty_cells(notebook)
        if not cells:
            continue
        if args.check:
            problems += 1
            print(f"{path}: outputs in cells {', '.join(map(str, cells))}; run python tools/strip_notebooks.py {path}")
        else:
            path.write_text(json.dumps(strip(notebook), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"{path}: stripped {len(cells)} cells")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
