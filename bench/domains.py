"""The dashboard's parse of `xl list -l` for 200 and 2,000 domains (facts/domains.py parse_xl_list_json).

The records are generated with the keys libxl's JSON has for a domain's configuration (libxl_domain_config:
c_info, b_info with its type-specific part, disks, nics, vfbs, vkbs, the on_* actions), PV, PVH and HVM guests
mixed, printed with four-space indents as xl prints them. Prints JSON: per count, the text's size and the
median, minimum and maximum milliseconds of the parse over repeated runs in one process."""

import json
import statistics
import sys
import time
import uuid

RUNS = 25


def record(domid: int) -> dict:
    kind = ("pvh", "pv", "hvm")[domid % 3]
    name = f"guest{domid:04d}"
    memkb = (512 + 256 * (domid % 8)) * 1024
    vcpus = 1 + domid % 4
    c_info = {"type": kind, "hap": "<default>", "oos": "<default>", "ssidref": 0, "ssid_label": None,
              "name": name, "domid": 0, "uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), "xsdata": None,
              "platformdata": None, "poolid": 0, "pool_name": "Pool-0", "run_hotplug_scripts": "True",
              "driver_domain": "<default>", "passthrough": "disabled", "xend_suspend_evtchn_compat": "<default>"}
    b_info = {"max_vcpus": vcpus, "avail_vcpus": list(range(vcpus)), "cpumap": [], "nodemap": [],
              "vcpu_hard_affinity": None, "vcpu_soft_affinity": None, "numa_placement": "<default>",
              "tsc_mode": "default", "max_memkb": memkb, "target_memkb": memkb, "video_memkb": -1,
              "shadow_memkb": -1, "iommu_memkb": -1, "rtc_timeoffset": 0, "exec_ssidref": 0,
              "exec_ssid_label": None, "localtime": "<default>", "disable_migrate": "<default>", "cpuid": None,
              "blkdev_start": None, "vnuma_nodes": None, "max_grant_frames": 4294967295,
              "max_maptrack_frames": 4294967295, "device_model_version": None,
              "device_model_stubdomain": "<default>", "stubdomain_memkb": -1, "device_model": None,
              "device_model_ssidref": 0, "device_model_ssid_label": None, "device_model_user": None,
              "extra": None, "extra_pv": None, "extra_hvm": None,
              "sched_params": {"sched": "unknown", "weight": -1, "cap": -1, "period": -1, "budget": -1,
                               "extratime": -1, "slice": -1, "latency": -1},
              "ioports": None, "irqs": None, "iomem": None, "claim_mode": "<default>", "event_channels": 0,
              "kernel": None, "cmdline": None, "ramdisk": None, "device_tree": None, "acpi": "<default>",
              "bootloader": None, "bootloader_args": None, "timer_mode": "unknown", "nested_hvm": "<default>",
              "apic": "<default>", "dm_restrict": "<default>", "tee": "unknown", "altp2m": "unknown"}
    if kind == "hvm":
        b_info["type.hvm"] = {"firmware": "bios", "bios": "seabios", "pae": "<default>", "apic": "<default>",
                              "acpi": "<default>", "nx": "<default>", "viridian": "<default>", "vnc": {
                                  "enable": "True", "listen": "127.0.0.1", "display": domid, "findunused": "True"},
                              "serial": "pty", "boot": "cd", "usb": "<default>", "vga": {"kind": "cirrus"}}
    else:
        b_info["kernel"] = f"/var/lib/xen/boot/{name}/vmlinuz-linux"
        b_info["ramdisk"] = f"/var/lib/xen/boot/{name}/initramfs-linux.img"
        b_info["cmdline"] = "root=/dev/xvda rw console=hvc0"
        b_info[f"type.{kind}"] = ({"pvshim": "<default>", "pvshim_path": None, "pvshim_cmdline": None,
                                   "pvshim_extra": None} if kind == "pvh" else
                                  {"slack_memkb": 0, "e820_host": "<default>"})
    mac = f"00:16:3e:{domid >> 16 & 0x7f:02x}:{domid >> 8 & 0xff:02x}:{domid & 0xff:02x}"
    config = {"c_info": c_info, "b_info": b_info,
              "disks": [{"backend_domid": 0, "backend_domname": None, "pdev_path": f"/dev/vg0/{name}",
                         "vdev": "xvda", "backend": "phy", "format": "raw", "script": None, "removable": 0,
                         "readwrite": 1, "is_cdrom": 0, "direct_io_safe": False, "discard_enable": "True"}],
              "nics": [{"backend_domid": 0, "devid": 0, "mtu": 1500, "model": None, "mac": mac, "ip": None,
                        "bridge": "xenbr0", "ifname": None, "script": "/etc/xen/scripts/vif-bridge",
                        "nictype": "vif_ioemu" if kind == "hvm" else "vif", "rate_bytes_per_interval": 0,
                        "rate_interval_usecs": 0, "gatewaydev": None}],
              "vfbs": [], "vkbs": [], "on_poweroff": "destroy", "on_reboot": "restart", "on_watchdog": "destroy",
              "on_crash": "destroy", "on_soft_reset": "soft_reset"}
    return {"domid": domid, "config": config}


def xl_list_long(count: int) -> str:
    """`xl list -l` for dom0 and count - 1 guests."""
    dom0 = {"domid": 0, "config": {"c_info": {"type": "pv", "name": "Domain-0"},
                                   "b_info": {"max_vcpus": 2, "max_memkb": 2097152, "target_memkb": 2097152}}}
    return json.dumps([dom0] + [record(i) for i in range(1, count)], indent=4) + "\n"


def main() -> None:
    from xenbook.facts.domains import parse_xl_list_json
    out = {}
    for count in (200, 2000):
        text = xl_list_long(count)
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            parsed = parse_xl_list_json(text)
            times.append(time.perf_counter() - t)
        if len(parsed) != count or parsed[-1]["name"] != f"guest{count - 1:04d}" or parsed[0]["memory_mib"] != 2048:
            raise SystemExit(f"parse_xl_list_json read {len(parsed)} domains from {count}, or read them wrong")
        out[count] = {"bytes": len(text), "median_ms": round(statistics.median(times) * 1000, 2),
                      "min_ms": round(min(times) * 1000, 2), "max_ms": round(max(times) * 1000, 2), "runs": RUNS}
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
