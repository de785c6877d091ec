"""Bad parameter values, generated per parameter: what each parameter must refuse before the host is touched."""

from __future__ import annotations

HOSTILE = [  # refused by every parameter that holds a name, a path, a size, a number or a choice
    "", " ", "two words", "it's", 'say "hi"', "a;reboot", "; reboot", "$(reboot)", "`reboot`", "${IFS}reboot",
    "x && reboot", "| reboot", "line1\nreboot", "tab\there", "nul\x00byte", "*", "~root", "-rf", "--help",
    "ＡＢＣ", "dom\u200b01", "dоm01", "x" * 5000, "é",
]
SIZES = ["lots", "-1", "1e99", "0G", "0", "20", "G", "20 G", "20GiB", "1.5G", "99999999999T", "20G;reboot",
         "２0G", "-20G"]
NUMBERS = [-1, 0, 10 ** 30, "lots", "1e99", 1e99, 2.5, "", "1; reboot", "３", [], {}]
PATHS = ["../etc", "/var/lib/../../etc/shadow", "/srv/..", "relative/dir", "/tmp/a b", "/srv/$(reboot)",
         "/srv/`id`", "/srv/a;b", "/srv/x\ny", "//..//etc"]
MACS = ["01:16:3e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:16:3e:00:00", "00-16-3e-00-00-01", "00:16:3e:00:00:0g",
        "00:11:22:33:44:55", "0016.3e00.0001", "00:16:3e:00:00:01:02", "00:16:3E:0a:0b:0С", " 00:16:3e:00:00:01"]
ENUM = ["PVH", "рvh", "auto;reboot", "grub", "none ", "yes", 1]
TARGETS = ["", " local", "local\n", "ssh:", "ssh:root@", "ssh:-oProxyCommand=reboot", "ssh:host;reboot",
           "ssh:ho st", "ssh:root@host:0", "ssh:root@host:99999", "ssh:Root;@host", "chroot:", "floppy:a",
           "lоcal", "ssh:hôst", "ssh:$(reboot)"]
BOOLEANS = ["maybe", 2, "yes please", [], "tru"]
VALID_TEXT = {  # a valid value of each text parameter: with a block scalar's trailing newline (or a CR) it is refused
    "install.build_user": "xb", "install.build_dir": "/srv/b", "boot.dom0_mem": "2G", "boot.console": "vga",
    "boot.kernel": "linux-lts", "dom0.bridge": "xenbr0", "dom0.uplink": "eth0", "guests.0.name": "g1",
    "guests.0.cpus": "1-2", "guests.0.size": "2G", "guests.0.volume_group": "vg1", "guests.0.image_dir": "/srv/img",
    "guests.0.bridge": "xenbr0", "guests.0.mac": "00:16:3e:00:00:01", "guests.0.hostname": "h1",
    "guests.0.ssh_key": "ssh-ed25519 AAAA x@y", "guests.0.iso": "/srv/a.iso", "guests.0.root_password_hash_env": "H",
    "guests.0.root_password_hash_file": "/etc/h", "guests.0.copy_from": "/mnt/x", "manage.cpus": "1-2",
    "manage.memory": "1G", "manage.domain": "web", "pv_guest.vm_uuid": "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b",
    "ssh_config": "/root/.ssh/config",
}
SYSTEM_FOLDERS = ["/.", "//etc", "/usr/.", "/var", "/root", "/home", "/bin", "/var/lib/", "/var/tmp/.", "/srv",
                  "/usr/local/src", "/var/lib/xen/build", "/var/lib/xenbook", "/boot/x", "/opt", "/tmp"]


def cases() -> list[tuple[str, object]]:
    """(dotted parameter path, bad value) pairs over every parameter of the runbook."""
    out: list[tuple[str, object]] = []

    def add(paths: list[str], values: list) -> None:
        out.extend((p, v) for p in paths for v in values)

    names = ["install.build_user", "dom0.bridge", "dom0.uplink", "guests.0.name", "guests.0.bridge",
             "guests.0.hostname", "guests.0.volume_group", "guests.0.root_password_hash_env"]
    add(names, HOSTILE)
    paths = ["install.build_dir", "guests.0.image_dir", "guests.0.iso", "guests.0.copy_from",
             "guests.0.root_password_hash_file"]
    add(paths, [v for v in HOSTILE if not v.startswith("/")] + PATHS)
    add(["guests.0.device"], PATHS + ["/dev/../etc/shadow", "sda", "/dev/sd a", "/dev/$(reboot)"])
    add(["boot.dom0_mem", "guests.0.size"], SIZES + ["", "$(reboot)", "`id`"])
    add(["boot.dom0_max_vcpus", "install.jobs", "guests.0.memory", "guests.0.maxmem", "guests.0.vcpus",
         "preflight.min_boot_free_mib", "preflight.min_memory_mib", "install.min_build_free_gib"], NUMBERS)
    add(["guests.0.mac"], MACS + ["", "$(reboot)"])
    add(["guests.0.cpus"], ["0-", "all;reboot", "$(reboot)", "1 2", "x", "", "0-3\n4"])
    add(["boot.console"], ["vga,vga", "serial", "vga;reboot", "", "com3", "vga com1", "$(reboot)"])
    add(["boot.com1"], ["115200;8n1", "$(reboot)", "fast", "115200,8n1,", "", "115200 8n1"])
    add(["boot.kernel"], ["linux;reboot", "Linux", "", "../linux", "linux lts", "$(reboot)"])
    add(["boot.dom0_kernel_options"], ["quiet;reboot", "$(reboot)", "a`id`", "root=/dev/sda1", 'x="y"', "a|b",
                                       "a\nroot=/dev/sda1"])  # whitespace only separates words: "a\nb" is fine
    add(["boot.xen_options", "install.versions", "guests.0.packages", "sections"],
        [[v] for v in ["$(reboot)", "a;b", "`id`", "two words", "", "x\ny"]] + [["dom0_mem=1G"], "notalist"])
    add(["boot.loader", "boot.uefi_entry", "boot.loglvl", "install.aur_helper", "dom0.network", "guests.0.type",
         "guests.0.storage", "guests.0.image_format", "guests.0.bootstrap", "guests.0.boot",
         "guests.0.fstab_device", "guests.0.firmware"], ENUM)
    add(["guests.0.ssh_key"], ["", "not a key", "ssh-ed25519 AAAA\nssh-rsa BBBB evil", "command=\"reboot\" "
                               "ssh-ed25519 AAAA", "ssh-ed25519 AAAA\x00", "ssh-ed25519 ＡＡＡＡ"])
    add(["target"], TARGETS)
    add(["dom0.xendomains", "boot.dom0_vcpus_pin", "guests.0.force", "dry_run"], BOOLEANS)
    add(["guests.0.confirm"], ["/dev/sdb", "$(reboot)"])  # without force: refused too
    add(["guests.0.nmae", "boot.dom0_mem;reboot", "bogus"], ["x"])  # unknown parameters
    some = [v for v in HOSTILE if v.strip()]  # where an empty value means "none", it is no bad value
    add(["pv_guest.vm_uuid"], some + ["0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0", "0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0g",
                                      "{0b6e2a51-3c1d-4e8f-9a7b-5c4d3e2f1a0b}"])
    add(["pv_guest.pool_master"], [t for t in TARGETS if t.strip()] + ["local", "sample:/tmp/x", "chroot:/mnt"])
    add(["pv_guest.loader", "pv_guest.agent", "pv_guest.agent_source", "pv_guest.xe_apply", "manage.action",
         "manage.manager", "manage.libvirt_package"], ENUM)
    add(["pv_guest.framebuffer", "pv_guest.xenfs", "manage.snapshot", "manage.virt_manager"], BOOLEANS)
    add(["manage.domain", "manage.confirm"], some + ["x" * 65, "a/b", "Domain 0", ".hidden", "--help"])
    add(["manage.vcpu"], some + ["-1", "1.5", "0x1"])
    add(["manage.cpus"], ["0-", "all;reboot", "$(reboot)", "1 2", "x", "0-3\n4"])
    add(["manage.memory"], [v for v in SIZES if v] + ["$(reboot)"])
    add(["manage.refresh_seconds", "manage.samples", "manage.snapshot_every"], [-1, 10 ** 30, "lots", "1e99", "",
                                                                               "1; reboot", "３", [], {}])
    for path, value in VALID_TEXT.items():
        out += [(path, value + "\n"), (path, value + "\r"), (path, "\n" + value)]
    add(["install.versions", "boot.xen_options", "guests.0.packages"], [["x\n"], ["a", "b\n"]])
    add(["install.build_dir"], SYSTEM_FOLDERS)
    return out


def nest(path: str, value) -> dict:
    """{"guests": [{"name": value}]} for "guests.0.name"."""
    head, _, rest = path.partition(".")
    if not rest:
        return {head: value}
    if head == "guests":
        return {"guests": [nest(rest.partition(".")[2], value)]}
    return {head: nest(rest, value)}
