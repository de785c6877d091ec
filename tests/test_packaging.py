"""environment.yml and pyproject.toml install the same things; CI runs the README's test command; every folder of
Python files under xenbook/ is a regular package that pyproject.toml lists."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

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
    """Every folder under xenbook/ that holds Python files, as a dotted package name."""
    return {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "xenbook").rglob("*.py")
            if "__pycache__" not in p.parts}


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
    from xenbook.cli import main
    assert xenbook.__version__ == metadata.version("xenbook")
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"xenbook, version {xenbook.__version__}\n"

