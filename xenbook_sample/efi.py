"""The sample host's UEFI boot entries (NVRAM) and a simulated efibootmgr that prints the real format."""

from __future__ import annotations

from xenbook.core.commands import Result
from xenbook_sample.grubenv import GRUBENV, read_grubenv
from xenbook_sample.host import block_devices
from xenbook_sample.options import Usage, options


def initial_entries(state: dict) -> dict:
    """The firmware's entries of a new UEFI sample: systemd-boot first, then the fallback loader."""
    esp = next(p for d in block_devices(state) for p in d["children"] if p["mountpoints"] == ["/boot"])
    hd = f"HD({esp['partn']},GPT,{esp['partuuid']},0x800,0x{esp['size'] // 512:x})"
    return {"boot_current": "0000", "boot_order": ["0000", "0001"], "timeout": 1, "entries": {
        "0000": {"label": "Linux Boot Manager", "active": True, "path": f"{hd}/File(\\EFI\\systemd\\systemd-bootx64.efi)"},
        "0001": {"label": "UEFI OS", "active": True, "path": f"{hd}/File(\\EFI\\BOOT\\BOOTX64.EFI)"}}}


def _listing(efi: dict) -> str:
    lines = [f"BootNext: {efi['boot_next']}"] if efi.get("boot_next") else []
    lines += [f"BootCurrent: {efi['boot_current']}", f"Timeout: {efi['timeout']} seconds",
             f"BootOrder: {','.join(efi['boot_order'])}"]
    for num in sorted(efi["entries"]):
        e = efi["entries"][num]
        lines.append(f"Boot{num}{'*' if e['active'] else ' '} {e['label']}\t{e['path']}")
    return "\n".join(lines) + "\n"


def efibootmgr(host, argv, stdin) -> Result:
    state = host.load_state()
    efi = state.get("efi")
    if efi is None:
        return Result(2, "", "EFI variables are not supported on this system.\n")
    opts, args = options("efibootmgr", argv, "cCd:p:L:l:n:o:v",
                         ["create", "create-only", "disk=", "part=", "label=", "loader=", "bootnext=", "bootorder=",
                          "verbose"], 1)
    given = {k.lstrip("-"): v for k, v in opts}
    nums = {"n": given.get("n") or given.get("bootnext"), "o": given.get("o") or given.get("bootorder")}
    if nums["n"] or nums["o"]:  # BootNext (the firmware boots it once and clears it), BootOrder
        try:
            wanted = [f"{int(n, 16):04X}" for n in (nums["o"] or nums["n"]).split(",")]
        except ValueError:
            raise Usage(f"efibootmgr: [simulated] invalid boot number {nums['o'] or nums['n']!r}\n", 1) from None
        bad = [n for n in wanted if n not in efi["entries"]]
        if nums["n"] and bad:  # efibootmgr.c: errx(12, "Boot entry %X does not exist", opts.bootnext)
            return Result(12, "", f"efibootmgr: Boot entry {int(bad[0], 16):X} does not exist\n")
        if bad:
            return Result(8, "", f"efibootmgr: [simulated] Boot{bad[0]} is not a boot entry\n")
        if nums["n"]:
            efi["boot_next"] = wanted[0]
        else:
            efi["boot_order"] = wanted
        host.save_state(state)
        return Result(0, _listing(efi), "")
    if not ({"c", "create", "C", "create-only"} & set(given)):
        if args:
            raise Usage(f"efibootmgr: unexpected argument {args[0]!r}\n", 1)
        return Result(0, _listing(efi), "")
    disk = given.get("d") or given.get("disk") or "/dev/sda"
    part = int(given.get("p") or given.get("part") or 1)
    label = given.get("L") or given.get("label") or "Linux"
    loader = given.get("l") or given.get("loader") or "\\EFI\\arch\\grub.efi"
    dev = next((p for d in block_devices(state) for p in d["children"]
                if f"/dev/{d['name']}" == disk and p["partn"] == part), None)
    if dev is None:
        return Result(5, "", f"efibootmgr: Could not open disk {disk} partition {part}\n")
    num = f"{max(int(n, 16) for n in efi['entries']) + 1:04X}"
    hd = f"HD({part},GPT,{dev['partuuid']},0x800,0x{dev['size'] // 512:x})"
    efi["entries"][num] = {"label": label, "active": True, "path": f"{hd}/File({loader})"}
    if {"c", "create"} & set(given):
        efi["boot_order"] = [num] + efi["boot_order"]
    host.save_state(state)
    return Result(0, _listing(efi), "")


LOADER_VENDOR = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"  # systemd's Boot Loader Interface
ONESHOT = f"/sys/firmware/efi/efivars/LoaderEntryOneShot-{LOADER_VENDOR}"


def bootctl(host, argv, stdin) -> Result:
    """bootctl set-oneshot ID: the EFI variable LoaderEntryOneShot (attributes, then UTF-16LE with a NUL), which
    systemd-boot reads, removes and boots once. Only set-oneshot is simulated."""
    args = list(argv[1:])
    if args[:1] != ["set-oneshot"] or len(args) != 2:
        raise Usage("bootctl: [simulated] only `bootctl set-oneshot ID` is simulated\n", 1)
    if host.load_state().get("efi") is None or not host.exists("/sys/firmware/efi/efivars"):
        return Result(1, "", "Failed to set EFI variable: No such file or directory\n")
    data = b"\x07\x00\x00\x00" + (args[1] + "\0").encode("utf-16-le")  # non-volatile, boot and runtime access
    host.write_atomic(ONESHOT, data, mode=0o644)
    return Result(0, "", "")


def take_oneshot(host) -> str | None:
    """The entry LoaderEntryOneShot names, removed as systemd-boot removes it when it reads it."""
    data = host.read_bytes(ONESHOT)
    if data is None:
        return None
    host.remove(ONESHOT)
    return data[4:].decode("utf-16-le", "replace").rstrip("\0") or None


def has_oneshot(host, state: dict) -> bool:
    """Whether the next boot is a one-time boot: grubenv's next_entry, LoaderEntryOneShot or BootNext."""
    env = dict(read_grubenv(host.read_bytes(GRUBENV) or b"") or [])
    return bool(env.get("next_entry") or host.exists(ONESHOT) or (state.get("efi") or {}).get("boot_next"))


PROGRAMS = {"efibootmgr": efibootmgr, "bootctl": bootctl}
