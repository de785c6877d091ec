"""What the CLI shows while it works, as Ansible users know it: each step's header, then its live output, then its
result; `xenbook run`'s step lines from its notebooks' kernels (over unix sockets: no TCP warning); plan's detailed
exit codes; the question an apply asks at a terminal; "did you mean" for mistyped names; xenbook's errors in a
notebook as their message, without a traceback."""

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from xenbook.cli import main as cli
from xenbook.cli.run import Lines
from xenbook.core.errors import ParameterError

XENBOOK = [sys.executable, "-m", "xenbook.cli.main"]
FAST = {**os.environ, "XENBOOK_SAMPLE_BUILD_SECONDS": "0"}  # the sample's simulated build streams its lines at once
RESULT = re.compile(r"^ *(ok|would-change|changed|failed|skipped|warning|blocking) (\S+): ")


def xenbook(*args, env=FAST, timeout=300):
    return subprocess.run(XENBOOK + list(args), capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def sample(tmp_path):
    d = tmp_path / "host"
    assert xenbook("sample", "init", str(d)).returncode == 0
    return d


def steps_in_order(lines: list[str]) -> list[tuple[str, int]]:
    """(step, output lines) for each step, checking that every output line comes after its step's header and
    before its result, and that a step with output was headed."""
    current, seen, out = None, 0, []
    for line in lines:
        if m := re.fullmatch(r" *running (\S+)", line):
            assert current is None, f"{m[1]} started before {current} ended"
            current, seen = m[1], 0
        elif line.lstrip().startswith("| "):
            assert current is not None, f"an output line outside a step: {line!r}"
            seen += 1
        elif m := RESULT.match(line):
            assert current in (None, m[2]), f"{m[2]}'s result while {current} runs"
            out.append((m[2], seen if current else 0))
            current = None
    return out


def test_apply_shows_each_steps_header_then_its_live_output_then_its_result(sample):
    proc = xenbook("apply", "--target", f"sample:{sample}", "--sections", "install")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    steps = dict(steps_in_order(lines))
    assert steps["install/AurPackageInstalled(xen)"] > 5, "the build's lines streamed under its header"
    header = lines.index("     running install/AurPackageInstalled(xen)")
    assert "Making package: xen" in "\n".join(lines[header:header + 60])
    assert "running" not in proc.stderr


def test_a_plan_heads_only_steps_with_output(sample):
    out = xenbook("plan", "--target", f"sample:{sample}", "--sections", "install,boot").stdout
    assert "running" not in out and steps_in_order(out.splitlines())


def test_plan_detailed_exit_codes(sample):
    target = f"sample:{sample}"
    plan = ["plan", "--target", target, "--detailed-exitcode"]
    assert xenbook(*plan, "--sections", "install").returncode == 2, "changes pending"
    assert xenbook("plan", "--target", target, "--sections", "install").returncode == 0, "only when asked"
    assert xenbook(*plan, "--sections", "boot").returncode == 1, "a failed step: no Xen installed yet"
    assert xenbook(*plan, "--set", "boot.dom0_mem=lots").returncode == 1, "bad input is an error, not changes"
    assert xenbook("plan", "--target", target, "--set", "boot.dom0_mem=lots").returncode == 2, "bad input"
    assert xenbook("apply", "--target", target, "--sections", "install,boot,dom0").returncode == 3
    pending = xenbook(*plan, "--sections", "install,boot,dom0")
    assert pending.returncode == 2 and "reboot needed" in pending.stdout, "a reboot pending is a change pending"
    assert xenbook(*plan, "--sections", "install,boot").returncode == 0, "converged"


@pytest.mark.parametrize("answer, code, applied", [("n\n", 1, False), ("\n", 1, False), ("y\n", 0, True),
                                                    ("", 1, False), (" yes \n", 0, True), ("Y\n", 0, True),
                                                    ("no\n", 1, False)])
def test_apply_at_a_terminal_shows_the_plan_and_asks(sample, monkeypatch, answer, code, applied):
    monkeypatch.setattr(cli, "asks", lambda: True)
    monkeypatch.setenv("XENBOOK_SAMPLE_BUILD_SECONDS", "0")
    result = CliRunner().invoke(cli.main, ["apply", "--target", f"sample:{sample}", "--sections", "install"],
                                input=answer)
    assert result.exit_code == code, result.output
    question = re.search(r"Apply these (\d+) changes to sample:\S+\? \[y/N\]", result.output)
    assert question and int(question[1]) >= 5, result.output
    assert result.output.index("would-change install/MultilibEnabled") < question.start(), "the plan comes first"
    assert (sample / "var/lib/xenbook/ledger.jsonl").exists() == applied
    if not applied:
        assert "nothing was changed" in result.output


def test_run_apply_at_a_terminal_asks_before_any_notebook_runs(sample, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "asks", lambda: True)
    result = CliRunner().invoke(cli.main, ["run", "--apply", "--target", f"sample:{sample}", "--sections", "install",
                                           "--out", str(tmp_path / "out")], input="n\n")
    assert result.exit_code == 1, result.output
    assert re.search(r"Apply these \d+ changes to sample:\S+\? \[y/N\]", result.output)
    assert not (tmp_path / "out").exists() and not (sample / "var/lib/xenbook").exists()


@pytest.mark.parametrize("args, asks", [(["--yes"], True), ([], False)])
def test_apply_never_asks_with_yes_or_without_a_terminal(sample, monkeypatch, args, asks):
    monkeypatch.setattr(cli, "asks", lambda: asks)  # as at a terminal, and as without one (CliRunner's stdin)
    monkeypatch.setenv("XENBOOK_SAMPLE_BUILD_SECONDS", "0")
    result = CliRunner().invoke(cli.main, ["apply", "--target", f"sample:{sample}", "--sections", "install", *args])
    assert result.exit_code == 0, result.output
    assert "Apply these" not in result.output and (sample / "var/lib/xenbook/ledger.jsonl").exists()


def test_without_a_terminal_nobody_is_asked():
    assert cli.asks() is False  # pytest's stdin is not a terminal


@pytest.mark.parametrize("args, files, expected", [
    (["--set", "boot.dom0_men=4G"], {}, "parameter boot.dom0_men = '4G': is not a known parameter "
                                        "(did you mean dom0_mem?)"),
    (["--sections", "bot"], {}, "parameter sections = ['bot']: unknown section 'bot' (did you mean boot?)"),
    (["--set", "bot.dom0_mem=4G"], {}, "parameter bot = {'dom0_mem': '4G'}: is not a known parameter "
                                       "(did you mean boot?)"),
    ([], {"dom0": {"xendomain": True}}, "parameter dom0.xendomain = True: is not a known parameter "
                                        "(did you mean xendomains?)"),
    ([], {"guests": [{"name": "a", "memroy": 512}]}, "parameter guests.0.memroy = 512: is not a known parameter "
                                                     "(did you mean memory?)"),
    ([], {"sectoins": ["boot"]}, "parameter sectoins = ['boot']: is not a known parameter (did you mean sections?)"),
    (["--set", "boot.zzzzzz=1"], {}, "parameter boot.zzzzzz = 1: is not a known parameter\n"),
    (["--sections", ""], {}, "parameter --sections = '': names no section"),  # "$EMPTY" is not every section
    (["--sections", " , "], {}, "parameter --sections = ' , ': names no section"),
])
def test_did_you_mean(tmp_path, args, files, expected):
    params = tmp_path / "host.yaml"
    params.write_text(yaml.safe_dump({"target": "sample", **files}))
    with pytest.raises(ParameterError) as e:
        cli.load_params(str(params), None, dict(zip(args[::2], args[1::2])).get("--sections"),
                        tuple(v for k, v in zip(args[::2], args[1::2]) if k == "--set"))
    assert expected in str(e.value) + "\n"


def test_lines_hands_on_whole_lines():
    got = []
    sink = Lines(got.append)
    for chunk in ["     changed  A: x\n     ", "running  B\n  | one", "\n  | two\n", "tail"]:
        sink.write(chunk)
    sink.close()
    assert got == ["     changed  A: x", "     running  B", "  | one", "  | two", "tail"]


@pytest.mark.slow
def test_xenbooks_errors_show_in_a_kernel_as_their_message_without_a_traceback(tmp_path):
    papermill = pytest.importorskip("papermill")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from xenbook.core.errors import ParameterError\n"
        "raise ParameterError([('boot.dom0_mem', 'lots', 'must be a whole number with a unit')])")])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    with pytest.raises(papermill.PapermillExecutionError) as e:  # papermill still records the error and fails
        papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"), progress_bar=False,
                                   kernel_name="python3")
    assert e.value.ename == "ParameterError"
    error = next(o for c in nbformat.read(tmp_path / "out.ipynb", 4).cells if c.cell_type == "code"
                 for o in c.get("outputs", []) if o.output_type == "error")
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
    assert "Traceback" not in shown and "File " not in shown
    assert shown.splitlines() == ["ParameterError: bad input, nothing was changed:",
                                  "  parameter boot.dom0_mem = 'lots': must be a whole number with a unit"]


@pytest.mark.slow
def test_run_streams_step_lines_over_unix_socket_kernels(sample, tmp_path):
    runtime = tmp_path / "t"
    runtime.mkdir()
    proc = xenbook("run", "--target", f"sample:{sample}", "--sections", "install", "--apply",
                   "--out", str(tmp_path / "out"), env={**FAST, "TMPDIR": str(runtime)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "section install (10-install.ipynb)" in proc.stdout
    assert re.search(r"running  AurPackageInstalled\(xen\)\n(.*\n)*? +\| .*Making package: xen", proc.stdout)
    assert re.search(r"changed  AurPackageInstalled\(xen\): ", proc.stdout)
    assert "running over TCP" not in proc.stdout + proc.stderr and "eavesdropping" not in proc.stdout + proc.stderr
    assert list(runtime.iterdir()) == [], "the kernels' socket folder is removed"


@pytest.mark.slow
def test_a_dry_run_of_the_notebooks_plans_as_one_plan_does(sample, tmp_path):
    """Each notebook's plan knows what the notebooks before it would install: on a fresh host the boot and dom0
    sections' checks of Xen's files are skipped as 'would be installed by', never failed, as `xenbook plan` says."""
    proc = xenbook("run", "--target", f"sample:{sample}", "--sections", "install,boot,dom0", "--out",
                   str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the plan reaches the reboot point
    assert re.search(r"skipped +XenImagePresent: would be installed by AurPackageInstalled\(xen\)", proc.stdout)
    assert re.search(r"skipped +XlConfSettings: would be installed by ", proc.stdout)
    assert not re.search(r"^ *failed ", proc.stdout, re.M), proc.stdout
    plan = xenbook("plan", "--target", f"sample:{sample}", "--sections", "install,boot,dom0", "--json")
    steps = {s["name"]: s["status"] for s in json.loads(plan.stdout)["steps"]}
    assert steps["XenImagePresent"] == steps["XlConfSettings"] == "skipped"
