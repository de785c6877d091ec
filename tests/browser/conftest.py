"""A real JupyterLab on 127.0.0.1 (token, temporary notebook folder and Jupyter state) and Debian's chromium driven
by Playwright. JupyterLab is stopped by its own process id at teardown, after its kernels are shut down."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.artifacts import artifact_dir

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium package; never a browser downloaded by playwright
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# JupyterLab settings for a quiet test session: no news or update checks, nothing that pops up over the notebook.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                                    "checkForUpdates": False}}


@pytest.fixture(scope="session")
def playwright_sync():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in xenbook's test extras")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/test installs chromium and chromium-driver)")
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium(playwright_sync):
    browser = playwright_sync.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    return artifact_dir(tmp_path_factory, "browser-artifacts", "browser screenshots and JupyterLab's log")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url: str, token: str, method: str = "GET"):
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


# The quiet session's options, for jupyter lab itself or after `xenbook lab ... --`.
QUIET = ["--ServerApp.port_retries=0", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--LabApp.news_url="] + (["--allow-root"] if os.geteuid() == 0 else [])


class Lab:
    """JupyterLab on ROOT; COMMAND(port) is the argv that starts it (default: jupyter lab itself). The token goes to
    the server in JUPYTER_TOKEN, never on a command line."""

    def __init__(self, root: Path, state: Path, log: Path, command=None, build_seconds: str = "0"):
        self.root, self.state, self.token, self.port = root, state, secrets.token_hex(16), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        jupyter = state.parent / "jupyter"
        for sub in ("config", "data", "runtime", "settings", "workspaces"):
            (jupyter / sub).mkdir(parents=True, exist_ok=True)
        for name, values in LAB_SETTINGS.items():
            (jupyter / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
            (jupyter / "settings" / name).write_text(json.dumps(values))
        env = {**os.environ, "XDG_STATE_HOME": str(state), "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
               "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "workspaces"), "XENBOOK_SAMPLE_BUILD_SECONDS": build_seconds,
               "MPLBACKEND": "Agg", "JUPYTER_TOKEN": self.token}
        self.log = log.open("w")
        argv = command(self.port) if command else (
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", f"--ServerApp.root_dir={root}"] + QUIET)
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=root if root.is_dir() else root.parent)
        deadline = time.monotonic() + 90
        while True:
            try:
                _api(f"{self.base}/api/status", self.token)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start; its log: {log}")
                time.sleep(0.5)

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}&reset"

    def stop(self) -> None:
        """Shut the kernels down through the API, then stop the server by its own process id."""
        if self.proc.poll() is None:
            try:
                for kernel in _api(f"{self.base}/api/kernels", self.token):
                    _api(f"{self.base}/api/kernels/{kernel['id']}", self.token, method="DELETE")
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def lab_workspace(tmp_path_factory):
    """(notebook folder, XDG state folder): a temporary copy of notebooks/ and the state its sample hosts use."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py",
                                                                            ".ipynb_checkpoints"))
    (base / "state").mkdir()
    return root, base / "state"


@pytest.fixture(scope="module")
def lab(lab_workspace, artifacts):
    root, state = lab_workspace
    server = Lab(root, state, artifacts / "jupyterlab.log")
    yield server
    server.stop()
