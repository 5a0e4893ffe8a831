"""Write the published JSON Schemas of the YAML files into schemas/ (run after model changes)."""

from __future__ import annotations

import sys
from pathlib import Path

from assistops.schemas import render_all


def main() -> int:
    """Regenerate schemas/ at the repository root."""
    out = Path(__file__).resolve().parent.parent / "schemas"
    out.mkdir(exist_ok=True)
    for name, text in render_all().items():
        (out / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
