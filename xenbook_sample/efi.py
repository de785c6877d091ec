"""The sample host's UEFI boot entries (NVRAM) and a simulated efibootmgr that prints the real format."""

from __future__ import annotations

from xenbook.core.commands import Result
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
    lines = [f"BootCurrent: {efi['boot_current']}", f"Timeout: {efi['timeout']} seconds",
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
    opts, args = options("efibootmgr", argv, "cCd:p:L:l:v",
                         ["create", "create-only", "disk=", "part=", "label=", "loader=", "verbose"], 1)
    given = {k.lstrip("-"): v for k, v in opts}
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


PROGRAMS = {"efibootmgr": efibootmgr}
