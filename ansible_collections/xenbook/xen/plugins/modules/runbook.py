#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: runbook
short_description: Plan or apply xenbook's Xen runbook on the managed node
description:
  - Runs the C(xenbook) command installed on the managed node (role M(xenbook.xen.install) puts it in a venv) with
    the parameters given here, written to a file of mode 0600 that is removed afterwards, and reads its C(--json)
    report. The plan runs on the node itself, so it costs no round trips.
  - In check mode it runs C(xenbook plan) (a dry run that writes nothing to the host); otherwise C(xenbook apply).
  - The parameters are validated by xenbook, as for C(xenbook apply --params FILE); a bad one fails before the host is
    touched, and the message names the parameter, the value and the rule.
  - With C(--diff) the result holds xenbook's diffs (unified, as Ansible's C(prepared) diffs).
version_added: "0.1.0"
options:
  params:
    description: The parameters, as in xenbook's YAML parameters file (sections, boot, dom0, guests, ...).
    type: dict
    default: {}
  target:
    description:
      - Where xenbook works, seen from the node; C(local) is the node itself, C(sample:DIR) a simulated sample host.
      - When unset, the C(target) in O(params); xenbook refuses an apply that names none.
    type: str
  sections:
    description: The sections to run (default all, or the C(sections) in O(params)).
    type: list
    elements: str
  xenbook:
    description: The xenbook command on the node (an executable file).
    type: path
    default: /opt/xenbook/venv/bin/xenbook
  secret_env:
    description:
      - Variables set in xenbook's environment only, e.g. the crypt hash a guest's C(root_password_hash_env) names.
        Give them from Ansible Vault; they are never part of the result.
    type: dict
    default: {}
  wait:
    description: Seconds to wait for another run's lock on the target; a finite number, 0 or more.
    type: float
    default: 0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author: xenbook
"""

EXAMPLES = r"""
- name: Xen on this host
  xenbook.xen.runbook:
    target: local
    params:
      sections: [preflight, install, boot, dom0]
      boot: {dom0_mem: 4096M}
  register: xen
- name: Into Xen
  ansible.builtin.reboot:
  when: xen.reboot_required
"""

RETURN = r"""
changed:
  description: Some step changed something (in check mode, would change something).
  type: bool
  returned: always
failed:
  description: A step failed, or xenbook refused the input.
  type: bool
  returned: always
msg:
  description: The failed steps with their remedies, xenbook's message naming a bad parameter, or a summary.
  type: str
  returned: always
rc:
  description: xenbook's exit code; 3, a reboot pending, is no failure.
  type: int
  returned: always
reboot_required:
  description: The host must reboot (into Xen) before the next sections run.
  type: bool
  returned: always
reboot_reason:
  description: Why, as xenbook says it.
  type: str
  returned: when xenbook printed a report
steps:
  description: One result per step (section, name, status, reason, remedy, paths, commands, validated, ...).
  type: list
  returned: always
counts:
  description: Steps per status.
  type: dict
  returned: when xenbook printed a report
"""

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenbook.xen.plugins.module_utils.runbook_result import (
    bad_env_names, command, result, secret_values, wait_problem)


def executable_problem(path: str) -> str:
    """What is wrong with the module's xenbook (an executable regular file on the node), or "" when nothing is."""
    if os.path.isdir(path):
        why = "is a folder"
    elif not os.path.exists(path):
        why = "does not exist"
    elif not os.path.isfile(path):
        why = "is not a regular file"
    elif not os.access(path, os.X_OK):
        why = "is not executable"
    else:
        return ""
    return _not_xenbook(path, why)


def _not_xenbook(path: str, why: str) -> str:
    return (f"parameter xenbook = {path!r}: {why}, and must be the xenbook command, an executable file on this node: "
            "install xenbook with the role xenbook.xen.install, or name its command")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            params=dict(type="dict", default={}),
            target=dict(type="str"),
            sections=dict(type="list", elements="str"),
            xenbook=dict(type="path", default="/opt/xenbook/venv/bin/xenbook"),
            secret_env=dict(type="dict", default={}, no_log=True),
            wait=dict(type="float", default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    module.no_log_values.update(secret_values(p["params"]))  # masked everywhere, the invocation too
    bad = bad_env_names(p["secret_env"])
    if bad:
        module.fail_json(msg=f"parameter secret_env = {bad[0]!r}: is not the name of an environment variable "
                             "(letters, digits and _, not starting with a digit)", steps=[], reboot_required=False)
    problem = wait_problem(p["wait"]) or executable_problem(p["xenbook"])
    if problem:
        module.fail_json(msg=problem, steps=[], reboot_required=False)
    env = {str(k): str(v) for k, v in p["secret_env"].items()}
    fd, path = tempfile.mkstemp(prefix="xenbook-params-", suffix=".yaml", dir=module.tmpdir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(p["params"], f, default=str)  # JSON is YAML: xenbook reads and checks it as its params file
        verb = "plan" if module.check_mode else "apply"
        argv = command(p["xenbook"], verb, path, p["target"], p["sections"], p["wait"])
        try:
            rc, out, err = module.run_command(argv, environ_update=env, expand_user_and_vars=False,
                                              handle_exceptions=False)
        except OSError as e:  # not a program this node can run (a script without its interpreter, another CPU's)
            res = {"changed": False, "failed": True, "rc": e.errno, "reboot_required": False, "steps": [],
                   "msg": _not_xenbook(p["xenbook"], f"could not be run ({e.strerror})")}
        else:
            try:
                report = json.loads(out) if out.strip() else None
            except ValueError:
                report = None
            res = result(report, rc, err, module.check_mode, module._diff)
    finally:
        os.unlink(path)
    if res["failed"]:
        module.fail_json(**res)
    module.exit_json(**res)


if __name__ == "__main__":
    main()
