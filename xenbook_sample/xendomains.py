"""The sample host's SIMULATED xendomains (Xen's tools/hotplug/Linux/xendomains.in, set up by /etc/conf.d/xendomains):
at host shutdown it saves every running guest to XENDOMAINS_SAVE (Xen's default /var/lib/xen/save) or, when that is
empty, shuts it down; at boot it restores the saved guests (XENDOMAINS_RESTORE) and creates those in XENDOMAINS_AUTO
that are not running."""

from __future__ import annotations

import json
import time

from xenbook_sample.services import is_active
from xenbook_sample.shellfiles import read_vars
from xenbook_sample.xl import context, cpu_seconds, find

CONF = "/etc/conf.d/xendomains"
UNIT = "xendomains.service"
HEADER = "Xen saved domain, xl format\n"  # xendomains.in restores files whose first 16 bytes are its HEADCOMP


def settings(host) -> dict[str, str] | None:
    """The variables xendomains sources from its file (the last assignment wins), or None when the file is missing
    (the script then exits: "/etc/conf.d/xendomains not existing")."""
    text = host.read_text(CONF)
    return None if text is None else read_vars(text)


def stop(host, state: dict) -> list[str]:
    """What xendomains does at the shutdown of a Xen boot where it is active: the names of the guests it saved
    (the others are shut down); state is the ending boot's."""
    conf = settings(host) if state["running"].get("xen") and is_active(host, UNIT) else None
    folder = (conf or {}).get("XENDOMAINS_SAVE", "")
    if not folder:
        return []
    saved = []
    now = time.time()
    for dom in state["running"].get("domains", []):
        dom = dict(dom, cpu_offset=cpu_seconds(dom, now))
        host.makedirs(folder)
        host.write_atomic(f"{folder}/{dom['name']}", (HEADER + json.dumps(dom, sort_keys=True) + "\n").encode(),
                          mode=0o600)
        saved.append(dom["name"])
    return saved


def start(host) -> list[str]:
    """What xendomains does at boot when it is active: restore the saved guests (removing their images), then
    create every guest in XENDOMAINS_AUTO that is not running; the names of the guests now running."""
    from xenbook_sample.xlguests import xl_create
    state, problem = context(host)
    conf = settings(host) if problem is None and is_active(host, UNIT) else None
    if conf is None:
        return []
    started, run, folder = [], state["running"], conf.get("XENDOMAINS_SAVE", "")
    if conf.get("XENDOMAINS_RESTORE") == "true" and folder:
        for name in sorted(host.listdir(folder) or []):
            data = host.read_bytes(f"{folder}/{name}") or b""
            if not data.startswith(HEADER[:16].encode()):
                continue
            dom = json.loads(data[len(HEADER):])
            dom.update(domid=run.get("next_domid", 1), run_since=None if dom.get("paused") else time.time(),
                       restored=True)
            run["next_domid"] = dom["domid"] + 1
            run.setdefault("domains", []).append(dom)
            host.remove(f"{folder}/{name}")
            started.append(dom["name"])
        host.save_state(state)
    auto = conf.get("XENDOMAINS_AUTO", "")
    for name in host.listdir(auto) or [] if auto else []:
        cfg = host.read_text(f"{auto}/{name}") or ""
        wanted = next((line.split("=", 1)[1].strip().strip("\"'") for line in cfg.splitlines()
                       if line.replace(" ", "").startswith("name=")), None)
        if wanted and find(state, wanted) is not None:
            continue  # xendomains.in: is_running, so a restored guest is not created again
        result = xl_create(host, state, ["-q", f"{auto}/{name}"], False)
        if result.ok:
            started.append(state["running"]["domains"][-1]["name"])
    return started
