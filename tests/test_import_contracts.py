"""The import contracts in pyproject.toml's [tool.importlinter] hold (import-linter's `lint-imports`)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_lint_imports_keeps_every_contract():
    lint = Path(sys.executable).parent / "lint-imports"
    assert lint.exists(), f"{lint} is missing: install the test extras (pip install -e '.[test]')"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
