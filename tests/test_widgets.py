"""The parameter form: generated from the typed parameters (labels, help, groups, the fields that apply), the view of
the notebook's parameters (what it shows is what the next cell runs; a plan made with other values is marked stale),
one-line messages, live progress, Plan and Apply as the CLI does them, applied values saved to the params file."""

import types
import sys

import ipywidgets as w
import pytest

from xenbook.core.errors import ParameterError
from xenbook.ui import notebook
from xenbook.ui.form_fields import rule_text
from xenbook.ui.widgets import SectionForm, one_line
from xenbook_sample.host import init_sample


def with_xen(tmp_path) -> str:
    """The target of a sample host after the install section (a new sample host has no Xen to boot)."""
    from xenbook.connectors.targets import open_host
    from xenbook.engine.params import RunbookParams
    from xenbook.engine.registry import run_sections
    target = f"sample:{tmp_path / 'host'}"
    with open_host(target) as host:
        assert not run_sections(host, RunbookParams(target=target), ["install"], dry_run=False).failed
    return target


def form_for(tmp_path, section="boot", **values) -> SectionForm:
    return SectionForm(notebook.section(section, target=f"sample:{tmp_path / 'host'}", **values))


def shown(form: SectionForm, name: str) -> bool:
    return form.rows[name].layout.display != "none"


def test_form_has_a_labelled_widget_per_parameter_of_the_right_kind_with_its_help(tmp_path):
    form = form_for(tmp_path)
    kinds = {"dom0_mem": w.Text, "dom0_vcpus_pin": w.Checkbox, "loglvl": w.Dropdown, "target": w.Text,
             "dom0_max_vcpus": w.Text, "xen_options": w.Text}
    assert {n: type(form.inputs[n]) for n in kinds} == kinds
    assert "all" in form.inputs["loglvl"].options
    assert form.inputs["dom0_mem"].description == "dom0 memory"
    help_text = form.rows["dom0_mem"].children[1].value
    assert "<code>dom0_mem</code>" in help_text and "fixed dom0 memory, also its maximum" in help_text
    assert list(form.layout.groups) == ["Target", "Boot entry", "Memory and CPUs", "Console and logs",
                                        "More Xen options"]


@pytest.mark.parametrize("section", ["preflight", "install", "boot", "dom0", "domu", "pv-guest", "manage", "doctor"])
def test_every_field_is_in_a_group_and_every_declared_field_exists(tmp_path, section):
    form = form_for(tmp_path, section)
    placed = [n for names in form.layout.groups.values() for n in names]
    assert sorted(placed) == sorted(form.inputs) and "More" not in form.layout.groups
    assert set(form.layout.shown_when) <= set(form.inputs)
    assert all(not n[0].isdigit() and n == n.strip() for n in map(form.layout.label, form.inputs))
    declared = sys.modules[form.view.section.params.__module__].FORM  # no typo hides behind the filter
    named = {n for names in declared["groups"].values() for n in names} | set(declared["labels"]) | \
        set(declared.get("shown_when", {})) | set(declared.get("not_saved", ())) | \
        {k for clauses in declared.get("shown_when", {}).values() for c in clauses for k in c if ":" not in k}
    assert named <= set(form.view.section.params.model_fields)


# (section, values changed in the form, field, shown after)
SHOWN = [
    ("boot", {}, "com1", False),
    ("boot", {"console": "vga,com1"}, "com1", True),
    ("boot", {"console": "com1H"}, "com1", True),
    ("boot", {}, "uefi_entry", False),  # bios-grub2: auto takes GRUB 2
    ("boot", {"loader": "uefi"}, "uefi_entry", True),
    ("boot", {}, "sudo", False),
    ("boot", {"target": "local"}, "sudo", True),
    ("boot", {"target": "ssh:root@xen1"}, "ssh_config", True),
    ("domu", {}, "volume_group", True),
    ("domu", {}, "image_dir", False),
    ("domu", {"storage": "image"}, "image_dir", True),
    ("domu", {"storage": "image"}, "volume_group", False),
    ("domu", {"storage": "partition", "device": "/dev/sdb1"}, "device", True),
    ("domu", {"storage": "partition", "device": "/dev/sdb1"}, "size", False),
    ("domu", {}, "iso", False),
    ("domu", {"type": "hvm", "bootstrap": "none"}, "iso", True),
    ("domu", {}, "confirm", False),
    ("domu", {"force": True}, "confirm", True),
    ("manage", {}, "confirm", False),
    ("manage", {"action": "destroy"}, "confirm", True),  # a bad value (no domain) shows its field too
    ("manage", {"manager": "libvirt"}, "virt_manager", True),
    ("dom0", {}, "xendomains_save", False),
    ("dom0", {"xendomains": True}, "xendomains_save", True),
    ("pv-guest", {}, "pool_master", False),
    ("pv-guest", {"vm_uuid": "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b"}, "pool_master", True),
]


@pytest.mark.parametrize("section, changes, name, visible", SHOWN)
def test_only_the_fields_that_apply_are_shown(tmp_path, section, changes, name, visible):
    form = form_for(tmp_path, section)
    for key, value in changes.items():
        form.inputs[key].value = value
    assert shown(form, name) is visible


def test_uefi_entry_shows_where_auto_detects_uefi(tmp_path):
    init_sample(str(tmp_path / "host"), profile="uefi-systemd-boot")
    form = form_for(tmp_path)
    assert shown(form, "uefi_entry")
    form.inputs["loader"].value = "grub2"
    assert not shown(form, "uefi_entry")


def test_a_read_only_section_has_plan_and_no_apply(tmp_path):
    form = form_for(tmp_path, "preflight")
    assert form.apply_button is None and form.confirm is None
    assert "Apply" not in repr(form.widget) and form.buttons == [form.plan_button]


# (field, bad value, the one line beside it)
BAD = [
    ("dom0_mem", "lots", "dom0_mem = 'lots': must be a whole number with a unit K, M, G or T, e.g. 2048M or 4G"),
    ("dom0_max_vcpus", "two", "dom0_max_vcpus = 'two': must be a whole number, e.g. 2"),
    ("dom0_max_vcpus", "0", "dom0_max_vcpus = 0: must be at least 1"),
    ("dom0_max_vcpus", "5000", "dom0_max_vcpus = 5000: must be at most 1024"),
    ("com1", "115200", "com1 = '115200': com1 is set but console does not list com1"),
    ("target", "ftp:x", "target = 'ftp:x': "),
]


@pytest.mark.parametrize("name, value, line", BAD)
def test_a_bad_value_shows_one_line_beside_its_field_and_blocks_apply_and_the_next_cell(tmp_path, name, value, line):
    form = form_for(tmp_path)
    view, before, original = form.view, form.view.params, form.inputs[name].value
    form.inputs[name].value = value
    text = form.errors[name].value
    assert line.replace("'", "&#x27;") in text and "\n" not in text and "Input should" not in text
    assert text.count("xenbook-error") == 1 and shown(form, name)
    assert form.plan_button.disabled and form.apply_button.disabled
    with pytest.raises(ParameterError):  # the next cell does not run other values than the form shows
        view.run()
    assert view.params == before
    form.inputs[name].value = original
    assert form.errors[name].value == "" and not form.apply_button.disabled and view.form_error is None


@pytest.mark.parametrize("rule, words", [
    ("Input should be greater than or equal to 1", "must be at least 1"),
    ("Input should be 'xl' or 'libvirt'", "must be 'xl' or 'libvirt'"),
    ("Input should be a valid boolean, unable to interpret input", "must be true or false"),
    ("must be BAUD[,DPS[,IO]]", "must be BAUD[,DPS[,IO]]"),
])
def test_rules_are_in_xenbooks_words(rule, words):
    assert rule_text(rule) == words


def test_errors_are_one_line():
    error = ParameterError([("boot.dom0_mem", "x", "Input should be a valid string"), ("boot.kernel", "y", "no")])
    assert one_line(error) == "boot.dom0_mem = 'x': must be a string; boot.kernel = 'y': no"


@pytest.mark.parametrize("name, value", [("guests.0.root_password", "hunter2"),
                                         ("boot.dom0_mem", "$6$saltsalt$abcdefgh"),
                                         ("guests", [{"name": "a", "root_password": "hunter2"}])])
def test_a_misplaced_secret_is_masked_in_the_forms_lines(name, value):
    from xenbook.ui.dashboard_widgets import one_line as dashboard_line
    from xenbook.ui.form_fields import message
    error = ParameterError([(name, value, "is not a known parameter")])
    for line in (one_line(error), dashboard_line(error), message(name, value, "is not a known parameter")):
        assert "hunter2" not in line and "abcdefgh" not in line and "hidden by xenbook" in line, line


def test_the_form_is_the_view_the_next_cell_runs_and_a_changed_plan_is_marked_stale(tmp_path):
    form = SectionForm(notebook.section("boot", target=with_xen(tmp_path)))
    view = form.view
    form.inputs["dom0_mem"].value = "3G"
    assert view.params.boot.dom0_mem == "3G" and view.params.dry_run is True  # the notebook's dry_run stays
    form.plan_button.click()
    assert form.stale.value == "" and "would-change" in form.status.value
    form.inputs["dom0_mem"].value = "4G"
    assert "stale: this plan is for earlier values (dom0_mem was &#x27;3G&#x27;)" in form.stale.value
    assert view.run().dry_run and "dom0_mem=4G,max:4G" in str(view.run().to_dict())
    form.inputs["dom0_mem"].value = "3G"
    assert form.stale.value == ""


def test_plan_then_apply_then_plan_again_with_progress(tmp_path):
    form = SectionForm(notebook.section("boot", target=with_xen(tmp_path)))
    before = {p: p.read_bytes() for p in (tmp_path / "host").rglob("*") if p.is_file()}
    form.inputs["dom0_mem"].value = "3G"
    form.plan_button.click()
    assert "would-change" in form.status.value and form.live.bar.value == form.live.bar.max == 5
    assert "planned in 0:0" in form.live.step.value
    assert {p: p.read_bytes() for p in (tmp_path / "host").rglob("*") if p.is_file()} == before, "a plan wrote"
    form.apply_button.click()  # not confirmed: nothing happens
    assert "tick" in form.status.value
    assert "dom0_mem=3G" not in (tmp_path / "host/etc/default/grub").read_text()
    form.confirm.value = True
    form.apply_button.click()
    assert "changed" in form.status.value and not form.confirm.value
    assert "dom0_mem=3G,max:3G" in (tmp_path / "host/etc/default/grub").read_text()
    assert form.saved.value == ""  # no params file
    form.plan_button.click()
    assert form.status.value.endswith("5 ok")


def test_apply_shows_the_step_the_time_and_the_lines_and_disables_the_form_meanwhile(tmp_path, monkeypatch):
    monkeypatch.setenv("XENBOOK_SAMPLE_BUILD_SECONDS", "0")
    form = form_for(tmp_path, "install")
    seen, logs, lines = [], [], []

    def watch(result):
        seen.append((result.name, form.live.step.value, form.plan_button.disabled, form.apply_button.disabled,
                     form.inputs["build_user"].disabled))
        logs.append(form.live.log.value)

    form.live.done = (lambda done: lambda result: (done(result), watch(result)))(form.live.done)
    form.live.line = (lambda line: lambda text: (line(text), lines.append(text)))(form.live.line)
    form.confirm.value = True
    form.apply_button.click()
    assert "changed" in form.status.value, form.status.value
    assert seen and all(p and a and i for _, _, p, a, i in seen)
    assert any(f"after <b>{name}</b>" in step for name, step, *_ in seen)
    assert "applying, " in seen[-1][1] and ", 0:0" in seen[-1][1]
    assert any("==> Making package: xen " in line for line in lines), "the build's lines never reached the form"
    assert all(log.startswith("<div") for log in logs[1:]) and "installing" in form.live.log.value
    assert not form.plan_button.disabled and not form.inputs["build_user"].disabled


def test_a_step_start_is_shown_by_name_where_the_runner_reports_starts(tmp_path, monkeypatch):
    """Once the runner reports a step as it begins (run_sections' on_start), the form names the step it is at."""
    starts = []

    def run_sections(*args, on_start, **kw):
        on_start(types.SimpleNamespace(name="GrubDefaults"))
        starts.append(form.live.step.value)
        return original(*args, on_start=on_start, **kw)

    original = notebook.run_sections
    monkeypatch.setattr(notebook, "run_sections", run_sections)
    form = SectionForm(notebook.section("boot", target=with_xen(tmp_path)))
    form.plan_button.click()
    assert "planning, step 1 of 5: <b>GrubDefaults</b>" in starts[0] and "dry run:" in form.status.value


def test_a_failing_run_shows_one_line(tmp_path):
    form = form_for(tmp_path, "boot", loader="grub-legacy")
    form.view.steps = lambda: (_ for _ in ()).throw(OSError(13, "Permission denied"))
    form.plan_button.click()
    assert "PermissionError: [Errno 13] Permission denied" in form.status.value and "Traceback" not in form.status.value
    assert not form.plan_button.disabled


def test_a_good_apply_saves_the_values_to_the_params_file_and_says_what(tmp_path):
    target = with_xen(tmp_path)
    path = tmp_path / "xen1.yaml"
    path.write_text(f"# xen1\ntarget: {target}\nboot:\n  dom0_mem: 2048M  # small\n")
    view = notebook.section("boot", params_file=str(path))
    view.params_file = str(path)
    form = SectionForm(view)
    form.inputs["dom0_mem"].value = "3072M"
    form.confirm.value = True
    form.apply_button.click()
    assert "saved dom0_mem = 3072M to xen1.yaml" in form.saved.value
    assert path.read_text() == f"# xen1\ntarget: {target}\nboot:\n  dom0_mem: 3072M  # small\n"
    path.write_text(f"target: {target}\nboot:\n  dom0_mem:    3072M\n")  # aligned by hand: the round trip moves it
    form.inputs["dom0_mem"].value = "4G"
    form.confirm.value = True
    form.apply_button.click()
    assert "changed" in form.status.value
    assert "not saved to" in form.saved.value and "xen1.yaml" in form.saved.value and "cannot be rewritten" in \
        form.saved.value
    assert path.read_text() == f"target: {target}\nboot:\n  dom0_mem:    3072M\n"


def test_the_live_lines_keep_the_last_ones_escaped_and_masked():
    from xenbook.ui.form_progress import LINES, LiveProgress, clock
    live = LiveProgress()
    live.begin("applying", 3)
    for n in range(LINES + 5):
        live.line(f"line {n} <b>")
    live.line("root:$6$saltsalt$" + "h" * 86 + ":19000::::::")
    live.end()
    assert "line 4 " not in live.log.value and f"line {LINES + 4} &lt;b&gt;" in live.log.value
    assert "$6$saltsalt" not in live.log.value
    assert [clock(s) for s in (7, 750, 3723)] == ["0:07", "12:30", "1:02:03"]
