#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_summary
short_description: One page summing up a rolling xenbook run over many hosts
description:
  - Reads O(dest)/HOST/result.json for each host (the runbook module's results by phase, which the rolling playbook
    writes on the controller) and writes O(dest)/index.html and O(dest)/index.md, one row per host linking the host
    reports fetched beside it (HOST/report.html, HOST/report.md).
  - Run it on the controller, in a play on localhost or delegated to it.
version_added: "0.1.0"
options:
  dest:
    description: The folder holding one folder per inventory host.
    type: path
    required: true
  hosts:
    description: The hosts to list, in this order (a host without a folder is listed as having no result).
    type: list
    elements: str
  title:
    description: The page's title.
    type: str
    default: Xen fleet
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author: xenbook
"""

EXAMPLES = r"""
- name: Fleet summary
  xenbook.xen.fleet_summary:
    dest: "{{ playbook_dir }}/reports"
    hosts: "{{ groups['xen'] }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
pages:
  description: The paths of index.html and index.md.
  type: list
  returned: always
totals:
  description: Hosts per state (converged, failed, planned, not converged, no result).
  type: dict
  returned: always
rows:
  description: One summary per host.
  type: list
  returned: always
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenbook.xen.plugins.module_utils.fleet_pages import FILES, markdown, page, row, totals


def _record(folder: str):
    try:
        with open(os.path.join(folder, "result.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, or nested too deep: no result
        return None


def _write(path: str, text: str, check_mode: bool) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    if not check_mode:
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(dest=dict(type="path", required=True), hosts=dict(type="list", elements="str"),
                           title=dict(type="str", default="Xen fleet")),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    if not os.path.isdir(dest):
        module.fail_json(msg=f"parameter dest = {dest!r}: is not a folder (the hosts' reports are fetched into it)")
    hosts = module.params["hosts"]
    if hosts is None:
        hosts = sorted(n for n in os.listdir(dest) if os.path.isdir(os.path.join(dest, n)))
    rows = []
    for host in hosts:
        if host in ("", ".", "..") or "/" in host:
            module.fail_json(msg=f"parameter hosts = {host!r}: is not a folder name (an inventory host name)")
        folder = os.path.join(dest, host)
        files = [f for f in FILES if os.path.isfile(os.path.join(folder, f))]
        rows.append(row(host, _record(folder), files))
    title = module.params["title"]
    pages = [os.path.join(dest, "index.html"), os.path.join(dest, "index.md")]
    changed = False
    for path, text in zip(pages, (page(rows, title), markdown(rows, title))):
        changed |= _write(path, text, module.check_mode)
    module.exit_json(changed=changed, pages=pages, totals=totals(rows), rows=rows)


if __name__ == "__main__":
    main()
