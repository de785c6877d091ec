"""A workspace per host: a folder holding the host's parameters file (params.yaml), copies of the section notebooks
that read it, a start page, and runs/ with the executed notebooks and reports. JupyterLab opens the workspace, never
the installed templates, so running a notebook changes only the host's copy."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from xenbook.cli.run import notebooks_dir
from xenbook.core.errors import ParameterError
from xenbook.engine.params import RunbookParams, build, load_file
from xenbook.engine.registry import sections
from xenbook.report.runs import write_index
from xenbook.ui.start import START_NOTEBOOK, start_notebook

PARAMS = "params.yaml"
RUNS = "runs"
MARK = ".xenbook-workspace.json"  # what init wrote: each notebook's sha256, so a refresh keeps the user's edits
SAMPLE_PARAMS = "sample-host.yaml"  # the bundled parameters of the simulated sample host (examples/ links to it)


def sample_params() -> Path:
    """The bundled parameters file of the whole runbook on the simulated sample host."""
    return notebooks_dir() / SAMPLE_PARAMS


def sample_workspace() -> Path:
    """The sample host's workspace, beside the sample hosts' state (XDG_STATE_HOME)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "xenbook" / "workspaces" / "sample"


def of(params_file: str | os.PathLike) -> Path | None:
    """The workspace params_file is the parameters file of, or None. A params.yaml that is a link (to a file kept
    elsewhere) is still its workspace's: the link is not followed."""
    path = Path(os.path.abspath(params_file))
    return path.parent.resolve() if path.name == PARAMS and (path.parent / MARK).is_file() else None


def clean(nb: dict) -> dict:
    """nb (a notebook's JSON) without outputs, execution counts, widget state or papermill's records: a template."""
    nb = copy.deepcopy(nb)
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    for cell in nb["cells"]:
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k == "tags"}
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _source(nb: dict) -> str:
    """The source of nb's parameters cell ("" without one)."""
    cell = next((c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])), {"source": ""})
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def reading(nb: dict, params_file: str) -> dict:
    """nb whose parameters cell reads params_file (a path from the notebook's folder)."""
    cell = next((c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])), None)
    if cell is None:
        return nb
    lines = _source(nb).split("\n")
    for i, line in enumerate(lines):
        if line.startswith("params_file:"):
            annotation, help_text = line.partition(" = ")[0], line.partition("  # ")[2]
            lines[i] = f"{annotation} = {json.dumps(params_file)}  # {help_text}"
    cell["source"] = [line + "\n" for line in lines[:-1]] + lines[-1:]
    return nb


def _text(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@dataclass
class Made:
    """What init did, one line per file, for the user."""

    root: Path
    lines: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([f"workspace {self.root}"] + [f"  {line}" for line in self.lines])


def _check_params(path: Path) -> dict:
    data = load_file(str(path))
    build(RunbookParams, data)  # ParameterError names a bad value before anything is made
    return data


def _written(mark: Path, made: Made) -> dict[str, str]:
    """What init wrote before ({notebook: sha256}); an unreadable record keeps every notebook as it is."""
    if not mark.is_file():
        return {}
    try:
        written = json.loads(mark.read_bytes())
    except (OSError, ValueError):
        written = None
    if not isinstance(written, dict) or not all(isinstance(v, str) for v in written.values()):
        made.lines.append(f"{MARK}: unreadable, so every notebook here is kept (remove one to get the current one)")
        return {}
    return written


def init(root: str | os.PathLike, params_file: str | None = None, target: str | None = None) -> Made:
    """Make (or refresh) the workspace at root: params.yaml (a copy of params_file, or a new file naming target),
    the section notebooks reading it, the start page, and runs/. A refresh rewrites a notebook only where it is
    still the copy init wrote (a notebook edited or saved from JupyterLab is kept), and never the params file."""
    root = Path(root).resolve()
    made = Made(root)
    source = Path(params_file).resolve() if params_file else None
    if source is not None:
        _check_params(source)
    templates = notebooks_dir().resolve()
    if root == templates or templates in root.parents:
        raise ParameterError([("DIR", str(root), f"is inside the installed notebooks ({templates}), which a "
                                                 "workspace must never change: name a folder of your own")])
    if root.exists() and not root.is_dir():
        raise ParameterError([("DIR", str(root), "is a file: a workspace is a folder")])
    mark = root / MARK
    if root.exists() and {p.name for p in root.iterdir()} - {PARAMS} and not mark.is_file():  # a lone params.yaml
        raise ParameterError([("DIR", str(root), f"holds files and is no xenbook workspace (it has no {MARK}): "
                                                 f"name a new or empty folder (or one holding only {PARAMS})")])
    if source is not None and source.parent == root and source.name != PARAMS:
        raise ParameterError([("--params", str(source), f"is inside the workspace: name it {PARAMS} there")])
    runs = root / RUNS
    if (runs.exists() or runs.is_symlink()) and not runs.is_dir():
        raise ParameterError([("DIR", str(root), f"holds {RUNS} as something other than a folder (a file, or a "
                                                 "link to nothing): move it away, the runs go there")])
    if (root / PARAMS).exists() or (root / PARAMS).is_symlink():
        _check_params(root / PARAMS)  # the file kept is good before anything is made beside it
    written = _written(mark, made)
    (root / RUNS).mkdir(parents=True, exist_ok=True)
    params = root / PARAMS
    if params.exists():
        made.lines.append(f"{PARAMS}: kept" + ("" if source is None or source == params or
                                               source.read_bytes() == params.read_bytes()
                                               else f" (it differs from {source}: the workspace reads its own)"))
    elif source is not None:
        shutil.copyfile(source, params)
        made.lines.append(f"{PARAMS}: copied from {source}")
    else:
        params.write_text(f"# the parameters of this host; every notebook here and `xenbook run --params "
                          f"{PARAMS}` read them\ntarget: {json.dumps(target or 'sample')}\n")
        made.lines.append(f"{PARAMS}: new, target {target or 'sample'}")
    _check_params(params)
    notebooks = {s.notebook: _text(reading(clean(json.loads(s.notebook_path().read_text())), PARAMS))
                 for s in sections().values()}
    notebooks[START_NOTEBOOK] = _text(start_notebook(PARAMS))
    for name, text in notebooks.items():
        path = root / name
        if f'= {json.dumps(PARAMS)}  #' not in _source(json.loads(text)):  # a plugin's cell without params_file
            made.lines.append(f"{name}: its parameters cell has no params_file: it does not read {PARAMS}")
        if not path.exists():
            made.lines.append(f"{name}: copied")
        elif _digest(path.read_bytes()) != written.get(name):
            made.lines.append(f"{name}: kept (changed since init copied it; remove it to get the current template)")
            continue
        elif path.read_text() == text:
            continue
        else:
            made.lines.append(f"{name}: refreshed")
        path.write_text(text)
        written[name] = _digest(text)
    mark.write_text(json.dumps(written, indent=1, sort_keys=True) + "\n")
    return made


def for_params(params_file: str) -> tuple[Path, Made | None]:
    """The workspace of params_file: the one it is the params.yaml of, else one beside it named after it (made or
    refreshed with a copy of it)."""
    ws = of(params_file)
    if ws is not None:
        return ws, None
    source = Path(params_file).resolve()
    if not source.is_file():
        raise ParameterError([("--params", params_file, "is no file")])
    if (source.parent / MARK).is_file():
        raise ParameterError([("--params", params_file, f"is in the workspace {source.parent}, whose parameters file "
                                                        f"is {PARAMS}: pass {source.parent / PARAMS}")])
    root = source.with_suffix("") if source.suffix in (".yaml", ".yml") else source.parent / f"{source.name}.d"
    return root, init(root, str(source))


def run_folder(params_file: str | None) -> str | None:
    """Where `xenbook run` puts a run of a workspace's params.yaml: its runs/<time>/ (None: not a workspace's)."""
    ws = of(params_file) if params_file else None
    if ws is None:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    folder, n = ws / RUNS / stamp, 1
    while folder.exists() or folder.is_symlink():  # two runs in one second keep both
        n += 1
        folder = ws / RUNS / f"{stamp}-{n}"
    return str(folder)


def index_run(params_file: str | None, out_dir: Path, target: str) -> str:
    """After a run of a workspace's params.yaml into its runs/: point runs/latest at it and rewrite the index; what
    went wrong doing so ("" when nothing did: the run itself is done either way, its exit code stands)."""
    ws = of(params_file) if params_file else None
    if ws is not None and Path(out_dir).resolve().parent == (ws / RUNS).resolve():
        try:
            write_index(ws / RUNS, Path(out_dir), title=f"xenbook runs of {target}")
        except OSError as e:
            return (f"the runs index of {ws / RUNS} was not updated ({e.strerror}: {e.filename}); the run itself "
                    f"is in {out_dir}")
    return ""
