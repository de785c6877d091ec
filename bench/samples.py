"""Sample hosts for the benchmark, made with the xenbook command: fresh, and converged (the whole runbook applied,
the simulated reboot into Xen, applied again)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
XENBOOK = REPO / ".venv" / "bin" / "xenbook"
PARAMS = REPO / "examples" / "sample-host.yaml"


def env() -> dict:
    """The simulated AUR builds do not pause; XDG_STATE_HOME never reaches the user's own sample host."""
    return {**os.environ, "XENBOOK_SAMPLE_BUILD_SECONDS": "0"}


def xenbook(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    r = subprocess.run([str(XENBOOK), *args], capture_output=True, text=True, env=env())
    if r.returncode not in ok:
        raise SystemExit(f"xenbook {' '.join(args)} exited {r.returncode}:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    xenbook("sample", "init", str(path))
    return path


def converged(path: Path) -> Path:
    """A sample host the whole runbook has been applied to: every section's steps are ok."""
    fresh(path)
    target = f"sample:{path}"
    xenbook("apply", "--params", str(PARAMS), "--target", target, ok=(3,))
    xenbook("reboot", "--target", target)
    xenbook("apply", "--params", str(PARAMS), "--target", target)
    again = xenbook("apply", "--params", str(PARAMS), "--target", target, "--json")
    import json
    statuses = {s["status"] for s in json.loads(again.stdout)["steps"]}
    if statuses != {"ok"}:
        raise SystemExit(f"the sample host at {path} did not converge: {statuses}")
    return path
