import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def write_rules(tmp_path):
    """Write YAML files into a fresh rules directory: write_rules(a="...", b="...") -> dir."""

    def write(**files: str) -> Path:
        root = tmp_path / "ruleset"
        root.mkdir(exist_ok=True)
        for name, text in files.items():
            (root / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write
