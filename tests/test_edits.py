"""Every edit function: tables of cases, and edit(edit(x)) == edit(x)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenbook.edits import blocks, grubentry, shellvars

BODY = 'GRUB_DEFAULT="xenbook-xen"\n'
B, E = "# BEGIN xenbook boot", "# END xenbook boot"


@pytest.mark.parametrize("before, after", [
    ("", f"{B}\n{BODY}{E}\n"),
    ("A=1\n", f"A=1\n{B}\n{BODY}{E}\n"),
    ("A=1", f"A=1\n{B}\n{BODY}{E}\n"),  # a missing final newline is added, not joined to the marker
    (f"A=1\n{B}\nold\n{E}\nZ=2\n", f"A=1\n{B}\n{BODY}{E}\nZ=2\n"),  # replaced in place, user lines kept
    (f"{B}\n{BODY}{E}\n", f"{B}\n{BODY}{E}\n"),
    (f"  {B}  \nold\n  {E}\n", f"{B}\n{BODY}{E}\n"),  # markers with stray spaces still match
])
def test_ensure_block(before, after):
    assert blocks.ensure_block(before, "boot", BODY) == after


@pytest.mark.parametrize("broken", [f"{B}\nx\n", f"x\n{E}\n", f"{E}\n{B}\n", f"{B}\n{E}\n{B}\n{E}\n"])
def test_broken_markers_refuse(broken):
    with pytest.raises(ValueError, match="markers are broken"):
        blocks.ensure_block(broken, "boot", BODY)


def test_remove_and_get_block():
    text = f"a\n{B}\n{BODY}{E}\nb\n"
    assert blocks.get_block(text, "boot") == BODY
    assert blocks.remove_block(text, "boot") == "a\nb\n"
    assert blocks.get_block("a\n", "boot") is None
    assert blocks.remove_block("a\n", "boot") == "a\n"


lines = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
                         max_size=20).filter(lambda s: "\n" not in s and "xenbook" not in s), max_size=8)


@settings(max_examples=200, deadline=None)
@given(lines, lines)
def test_ensure_block_idempotent_and_keeps_user_lines(user, body):
    text = "\n".join(user) + ("\n" if user else "")
    once = blocks.ensure_block(text, "boot", "\n".join(body))
    assert blocks.ensure_block(once, "boot", "\n".join(body)) == once
    assert blocks.remove_block(once, "boot") == text


@pytest.mark.parametrize("text, expected", [
    ('GRUB_DEFAULT=0\n', {"GRUB_DEFAULT": "0"}),
    ('GRUB_CMDLINE_LINUX_DEFAULT="loglevel=3 quiet"\n', {"GRUB_CMDLINE_LINUX_DEFAULT": "loglevel=3 quiet"}),
    ("A='x y'  # note\n", {"A": "x y"}),
    ('#A=1\nA=2\nA=3\n', {"A": "3"}),  # the last assignment wins, comments are not assignments
    ('export A="1"\n', {"A": "1"}),
    ('A="unterminated\n', {}),
    ('A=\n', {"A": ""}),
])
def test_get_vars(text, expected):
    assert shellvars.get_vars(text) == expected


@pytest.mark.parametrize("value", ['a"b', "a$b", "a`b`", "a\\b", "a\nb"])
def test_quote_value_refuses_shell_specials(value):
    with pytest.raises(ValueError, match="may not hold"):
        shellvars.quote_value("X", value)


def test_render_assignments():
    assert shellvars.render_assignments([("A", "x y"), ("B", "")]) == 'A="x y"\nB=""\n'


ENTRY = grubentry.XenEntry("Arch Linux (linux), with Xen hypervisor", "1111-2222", "ext4", "/xen.gz",
                           "dom0_mem=2048M,max:2048M console=vga", "/vmlinuz-linux", "root=UUID=abcd rw quiet",
                           ("/initramfs-linux.img", "/intel-ucode.img"))


def test_render_entry_has_multiboot2_and_modules():
    text = grubentry.render_entry(ENTRY)
    assert "--id xenbook-xen {" in text
    assert "\tsearch --no-floppy --fs-uuid --set=root 1111-2222\n" in text
    assert "\tmultiboot2\t/xen.gz placeholder dom0_mem=2048M,max:2048M console=vga\n" in text
    assert "\tmodule2\t/vmlinuz-linux placeholder root=UUID=abcd rw quiet\n" in text
    assert text.index("--nounzip /initramfs-linux.img") < text.index("--nounzip /intel-ucode.img")
    assert "insmod ext2" in text and text.endswith("}\n")


@pytest.mark.parametrize("field, value", [
    ("xen_args", "dom0_mem=1G;reboot"), ("kernel_args", "root=$(id)"), ("kernel_args", "a'b"),
    ("xen", "/xen.gz{"), ("boot_uuid", "x y\\"), ("boot_fstype", "ntfs"), ("title", "it's"),
])
def test_render_entry_refuses_unsafe_values(field, value):
    from dataclasses import replace
    with pytest.raises(ValueError):
        grubentry.render_entry(replace(ENTRY, **{field: value}))


@pytest.mark.parametrize("text, expected", [
    (None, grubentry.CUSTOM_HEADER),
    ("", grubentry.CUSTOM_HEADER),
    ("#!/bin/sh\nexec tail -n +3 $0\nmine\n", "#!/bin/sh\nexec tail -n +3 $0\nmine\n"),
    ("#!/bin/sh\nexec tail -n +3 $0", "#!/bin/sh\nexec tail -n +3 $0\n"),
])
def test_ensure_custom_header(text, expected):
    assert grubentry.ensure_custom_header(text) == expected
    assert grubentry.ensure_custom_header(expected) == expected


def test_custom_header_changed_by_hand_refuses():
    with pytest.raises(ValueError, match="changed by hand"):
        grubentry.ensure_custom_header("#!/bin/bash\necho hi\n")


def test_menu_entries_and_default():
    cfg = ("set default=\"${next_entry}\"\nelse\n  set default=\"xenbook-xen\"\nfi\n"
           "menuentry 'Arch Linux' --class arch $menuentry_id_option 'gnulinux-simple-abc' {\n}\n"
           "menuentry 'Arch Linux (linux), with Xen hypervisor' --class xen --id xenbook-xen {\n}\n")
    assert grubentry.menu_entries(cfg) == [("Arch Linux", "gnulinux-simple-abc"),
                                           ("Arch Linux (linux), with Xen hypervisor", "xenbook-xen")]
    assert grubentry.default_setting(cfg) == "xenbook-xen"
    assert grubentry.default_setting("nothing") is None
