"""What GRUB 2 runs of grub.cfg before it shows the menu, for the sample's SIMULATED loader: the top-level `set`,
`if`/`elif`/`else`/`fi` with `[ "..." ]` and `[ -s FILE ]` tests, `load_env` and `save_env`, as GRUB's 00_header
writes them (util/grub.d/00_header.in: load_env, then default="${next_entry}" once or else GRUB_DEFAULT).

Words are split and unquoted as GRUB's script lexer does (sh-like: '...', "..." with ${name} and $name expanded,
backslash escapes, '#' comments); menuentry, submenu and function bodies are not run (GRUB runs them on choice or
call). Other commands are left out: the simulation's limit."""

from __future__ import annotations

import re

_VAR = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def _words(line: str, env: dict[str, str]) -> list[str]:
    """The words of one command line, expanded with env."""
    out, word, quote, started, i = [], [], None, False, 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            if c == "'":
                quote = None
            else:
                word.append(c)
            i += 1
            continue
        if c == "\\" and i + 1 < len(line):
            word.append(line[i + 1])
            started, i = True, i + 2
            continue
        if c == "$":
            m = _VAR.match(line, i)
            if m:
                word.append(env.get(m[1] or m[2], ""))
                started, i = True, m.end()
                continue
        if quote == '"':
            if c == '"':
                quote = None
            else:
                word.append(c)
        elif c in "'\"":
            quote, started = c, True
        elif c in " \t;":
            if started:
                out.append("".join(word))
            out += [";"] if c == ";" else []
            word, started = [], False
        elif c == "#" and not started:
            break
        else:
            word.append(c)
            started = True
        i += 1
    if started:
        out.append("".join(word))
    return out


def _test(args: list[str], env: dict[str, str], files: dict[str, bool]) -> bool:
    """GRUB's `[ ... ]` for the forms 00_header writes: a word (true when not empty) and -s FILE."""
    args = args[1:-1] if args[:1] == ["["] and args[-1:] == ["]"] else args
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2 and args[0] == "-s":
        return files.get(args[1], False)
    if len(args) == 2 and args[0] in ("-n", "-z"):
        return (args[1] != "") == (args[0] == "-n")
    if len(args) == 3 and args[1] in ("=", "=="):
        return args[0] == args[2]
    if len(args) == 3 and args[1] == "!=":
        return args[0] != args[2]
    return False


def run_header(text: str, grubenv: dict[str, str], files: dict[str, bool]) -> tuple[dict[str, str], list[str]]:
    """(the variables once grub.cfg's top level ran, the names save_env wrote back) for the saved environment
    grubenv; files says which loader-side paths ("$prefix/grubenv" expanded) are non-empty files."""
    env: dict[str, str] = {"prefix": "/boot/grub"}
    saved: list[str] = []
    depth = 0
    stack: list[tuple[bool, bool]] = []  # (this branch runs, a branch of this if already ran)
    for raw in text.splitlines():
        line = raw.strip()
        if depth:
            depth += line.endswith("{") - (line == "}")
            continue
        if re.match(r"^(menuentry|submenu|function)\s.*\{$", line):
            depth = 1
            continue
        running = all(run for run, _ in stack)
        words = _words(line, env) if running or line.split()[:1] in (
            ["if"], ["elif"], ["else"], ["fi"]) else []
        head = words[0] if words else ""
        if head in ("if", "elif"):
            cond = words[1:]
            cond = cond[:cond.index("then")] if "then" in cond else cond
            cond = [w for w in cond if w != ";"]
            if head == "if":
                outer = running
                ok = outer and _test(cond, env, files)
                stack.append((ok, ok))
            else:
                _run, done = stack[-1]
                outer = all(run for run, _ in stack[:-1])
                ok = outer and not done and _test(cond, env, files)
                stack[-1] = (ok, done or ok)
        elif head == "else" and stack:
            _run, done = stack[-1]
            stack[-1] = (all(run for run, _ in stack[:-1]) and not done, True)
        elif head == "fi" and stack:
            stack.pop()
        elif not running:
            continue
        elif head == "set" and len(words) > 1 and "=" in words[1]:
            name, _, value = words[1].partition("=")
            env[name] = value
        elif head == "load_env":
            env.update(grubenv)
        elif head == "save_env":
            saved += words[1:]
    return env, saved
