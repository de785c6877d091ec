"""The parameter form: generated from the typed parameters, validated inline, Plan and Apply as the CLI does."""

import ipywidgets as w

from xenbook.ui import notebook


def with_xen(tmp_path) -> str:
    """The target of a sample host after the install section (a new sample host has no Xen to boot)."""
    from xenbook.engine.params import RunbookParams
    from xenbook.engine.registry import run_sections
    from xenbook.connectors.targets import open_host
    target = f"sample:{tmp_path / 'host'}"
    with open_host(target) as host:
        assert not run_sections(host, RunbookParams(target=target), ["install"], dry_run=False).failed
    return target


def form_for(tmp_path, **values):
    view = notebook.section("boot", target=f"sample:{tmp_path / 'host'}", **values)
    return view.form(), view


def find(widget, description):
    if getattr(widget, "description", None) == description and not isinstance(widget, w.Button):
        return widget
    for child in getattr(widget, "children", ()):
        found = find(child, description)
        if found is not None:
            return found
    return None


def test_form_has_a_widget_per_parameter_of_the_right_kind(tmp_path):
    form, _ = form_for(tmp_path)
    assert isinstance(find(form, "dom0_mem"), w.Text)
    assert isinstance(find(form, "dom0_vcpus_pin"), w.Checkbox)
    assert isinstance(find(form, "loglvl"), w.Dropdown)
    assert "all" in find(form, "loglvl").options
    assert isinstance(find(form, "target"), w.Text)


def test_bad_value_is_shown_next_to_its_field_and_blocks_the_buttons(tmp_path):
    from xenbook.ui.widgets import SectionForm
    view = notebook.section("boot", target=f"sample:{tmp_path / 'host'}")
    form = SectionForm(view)
    form.inputs["dom0_mem"].value = "lots"
    assert "whole number with a unit" in form.errors["dom0_mem"].value
    assert form.plan_button.disabled and form.apply_button.disabled
    form.inputs["dom0_mem"].value = "4G"
    assert form.errors["dom0_mem"].value == "" and not form.plan_button.disabled


def test_plan_then_apply_then_plan_again(tmp_path):
    from xenbook.ui.widgets import SectionForm
    form = SectionForm(notebook.section("boot", target=with_xen(tmp_path)))
    before = {p: p.read_bytes() for p in (tmp_path / "host").rglob("*") if p.is_file()}
    form.inputs["dom0_mem"].value = "3G"
    form.plan_button.click()
    assert "would-change" in form.status.value and form.progress.value == form.progress.max == 5
    assert {p: p.read_bytes() for p in (tmp_path / "host").rglob("*") if p.is_file()} == before, "a plan wrote"
    form.apply_button.click()  # not confirmed: nothing happens
    assert "tick" in form.status.value
    assert "dom0_mem=3G" not in (tmp_path / "host/etc/default/grub").read_text()
    form.confirm.value = True
    form.apply_button.click()
    assert "changed" in form.status.value
    assert "dom0_mem=3G,max:3G" in (tmp_path / "host/etc/default/grub").read_text()
    form.plan_button.click()
    assert form.status.value.endswith("5 ok")
