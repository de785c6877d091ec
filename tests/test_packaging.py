"""environment.yml and pyproject.toml install the same things; CI runs the README's test command; the wheel holds
every package and data file, and xenbook runs from it outside the source tree."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_and_pyproject_list_the_same_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(d): d.replace(" ", "") for d in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {_name(d): d.replace(" ", "") for d in env["dependencies"] if isinstance(d, str)}
    listed.pop("pip")
    python = listed.pop("python")
    assert python == "python>=" + project["requires-python"].removeprefix(">=")
    assert {k: v.lower() for k, v in listed.items()} == {k: v.lower() for k, v in wanted.items()}


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert len(commands) == 2, "the README starts with two commands"
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci == ["exec " + commands[1]]


def _packages_in_tree() -> set[str]:
    """Every folder under xenbook/ and xenbook_sample/ that holds Python files, as a dotted package name."""
    return {".".join(p.parent.relative_to(ROOT).parts) for top in ("xenbook", "xenbook_sample")
            for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts}


def test_every_folder_of_python_files_is_a_regular_package():
    missing = sorted(n for n in _packages_in_tree() if not (ROOT / n.replace(".", "/") / "__init__.py").exists())
    assert missing == [], f"namespace packages (no __init__.py): {missing}"
    assert (ROOT / "notebooks" / "__init__.py").exists()


def test_pyproject_lists_exactly_the_packages_in_the_tree():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert sorted(listed) == sorted(_packages_in_tree() | {"xenbook.notebooks"})


def test_version_is_the_installed_distributions_and_the_cli_prints_it():
    from click.testing import CliRunner

    import xenbook
    from xenbook.cli.main import main
    assert xenbook.__version__ == metadata.version("xenbook")
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"xenbook, version {xenbook.__version__}\n"


# Run by the venv that holds the installed wheel: imports every module the wheel lists, then says where xenbook came
# from and what its notebooks folder holds.
IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as e:
        failed[name] = f"{type(e).__name__}: {e}"
import xenbook
from xenbook.cli.run import notebooks_dir
print(json.dumps({"failed": failed, "file": xenbook.__file__, "version": xenbook.__version__,
                  "notebooks": sorted(p.name for p in notebooks_dir().glob("*.ipynb"))}))
"""


def _run(argv, cwd, env):
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{argv}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.slow
def test_the_wheel_holds_every_package_and_runs_outside_the_source_tree(tmp_path):
    """Build the wheel from a copy of what the build reads (a stale build/ in the checkout cannot leak into it),
    install it with --no-deps into a new venv without system site-packages whose one .pth adds this venv's
    site-packages (the dependencies, without fetching them again; its editable xenbook stays out, since .pth files
    in a folder a .pth adds are not read), then run xenbook from that venv in a folder outside the checkout."""
    src = tmp_path / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("xenbook", "xenbook_sample", "notebooks"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src], tmp_path, os.environ)
    (wheel,) = dist.glob("xenbook-*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    wanted = {f"{p.replace('.', '/')}/__init__.py" for p in _packages_in_tree()}
    wanted |= {f"xenbook/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    wanted |= {"xenbook/notebooks/sample-host.yaml"}  # the sample host's parameters: `xenbook lab` without --params
    wanted |= {str(p.relative_to(ROOT)) for p in (ROOT / "xenbook_sample/files").rglob("*") if p.is_file()}
    assert sorted(wanted - set(names)) == [], "missing from the wheel"

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # system_site_packages stays False
    python = env_dir / "bin" / "python"
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)}))
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         tmp_path, os.environ)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH")}
    modules = [n.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for n in names if n.endswith(".py")]
    out = json.loads(_run([python, "-c", IMPORT_ALL, *modules], elsewhere, env))
    assert out["failed"] == {}
    assert Path(out["file"]).is_relative_to(site), "xenbook was not imported from the wheel"
    assert out["version"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert out["notebooks"] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

    xenbook = env_dir / "bin" / "xenbook"
    assert _run([xenbook, "--version"], elsewhere, env) == f"xenbook, version {out['version']}\n"
    _run([xenbook, "sample", "init", "host"], elsewhere, env)
    plan = json.loads(_run([xenbook, "plan", "--target", "sample:host", "--json"], elsewhere, env))
    assert plan["simulated"] is True and plan["steps"]
    assert not [s["name"] for s in plan["steps"] if s["status"] == "failed"]
    _run([xenbook, "init", "ws", "--params", str(ROOT / "examples" / "sample-host.yaml")], elsewhere, env)
    assert sorted(p.name for p in (elsewhere / "ws").glob("*.ipynb")) == sorted(out["notebooks"] + ["00-start.ipynb"])
    bundled = _run([python, "-c", "from xenbook.cli.workspace import sample_params; print(sample_params())"],
                   elsewhere, env).strip()
    assert Path(bundled).read_bytes() == (ROOT / "examples" / "sample-host.yaml").read_bytes()
