#!/usr/bin/env python3
"""Turns the failures.tsv of a corruption-matrix run (HOSTILE_KEEP=DIR swift test --filter
MatrixTests) into one line per failing case for notes: where vmowner dies (the first frame
under Sources/, found by running the case once under gdb), the area that owns that file, and
the command that reproduces it. The simulated dumps the cases were made from are copied next
to the kept inputs so the commands keep working after the test run's /tmp is gone.

Usage: hostile-locate.py DIR VMOWNER_DEBUG_BINARY [VMOWNER_ASAN_BINARY] > lines.md
(exit 86 is AddressSanitizer's report, located with the ASan binary.)
"""
import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

DUMP_AREA = ("Sources/ELFCore/Dump/", "Sources/ELFCore/VMLinux/ELF", "Sources/ELFCore/Symbols/")


def project_frame(text, frame):
    """File:line and demangled function of the first line of `text` matching `frame`
    (groups: symbol, path, line) whose path is under Sources/, or None."""
    for line in text.splitlines():
        m = re.match(frame, line)
        if m:
            symbol, path, number = m.groups()
            name = subprocess.run(["swift", "demangle", "--simplified", "--compact", symbol],
                                  capture_output=True, text=True).stdout.strip()
            return f"{path[path.index('Sources/'):]}:{number} {re.sub(r'[(].*', '', name)}"
    return None


def crash_site(binary, args):
    """Where the run traps, from gdb's backtrace, or None."""
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    try:
        out = subprocess.run(["gdb", "-q", "-batch", "-ex", "run", "-ex", "bt 40", "--args", binary] + args,
                             env=env, capture_output=True, text=True, timeout=120).stdout
    except subprocess.TimeoutExpired:
        return None
    return project_frame(out, r"#\d+\s+(?:0x[0-9a-f]+ in )?(\S+) .* at (\S+/Sources/\S+):(\d+)")


def asan_site(binary, args):
    """Where AddressSanitizer stops the run (its first frame under Sources/), or None."""
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no", ASAN_OPTIONS="exitcode=86:detect_leaks=0")
    try:
        err = subprocess.run([binary] + args, env=env, capture_output=True, text=True, timeout=300).stderr
    except subprocess.TimeoutExpired:
        return None
    kind = re.search(r"ERROR: AddressSanitizer: (\S+)", err)
    site = project_frame(err, r"\s*#\d+ 0x[0-9a-f]+ in (\S+) (\S+/Sources/[^:]+):(\d+)")
    return site and f"{site} ({kind.group(1) if kind else 'ASan'})"


def main():
    folder, binary = sys.argv[1], sys.argv[2]
    groups = collections.OrderedDict()
    for line in open(os.path.join(folder, "failures.tsv")):
        label, why, stderr, argv = line.rstrip("\n").split("\t")
        groups.setdefault(label, []).append((why, stderr, argv.split(" ")))

    copied = {}

    def local(path):
        """Copies a simulated dump's file next to the kept inputs (once)."""
        m = re.match(r"/tmp/vmowner-tests-\d+/([^/]+)/(.+)", path)
        if not m:
            return path
        target = os.path.join(folder, "sim-" + m.group(1), m.group(2))
        if target not in copied:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                subprocess.run(["cp", "--sparse=always", path, target])
            copied[target] = True
        return target

    def describe(item):
        label, runs = item
        why, stderr, args = runs[0]
        args = [local(a) for a in args]
        site = crash_site(binary, args) if why.startswith("killed by signal") else None
        if why == "exit 86" and len(sys.argv) > 3:
            site = asan_site(sys.argv[3], args)
        commands = sorted({r[2][0] if not r[2][0].startswith("/") else "summary" for r in runs})
        stderr = stderr.replace(folder + "/", "")
        faults = sorted({r[0] for r in runs})
        area = "dump" if site and site.startswith(DUMP_AREA) else "core"
        if site is None and re.match(r"(kdump|elf|flat|ELF|e_ph|PT_|note|sub\.|descriptor|header_version|block_size|"
                                     r"sub_hdr|bitmap|max_mapnr|nr_cpus)", label):
            area = "dump"
        where = site or "(no trap: " + "; ".join(faults) + ")"
        detail = re.sub(r"/tmp/vmowner-tests-\d+/hostile/\S+", "FILE", stderr.strip())[:140]
        return (f"{area} | {where} | `vmowner {' '.join(args)}` (input: {label}; fails in {', '.join(commands)}: "
                f"{'; '.join(faults)}: {detail}) | open")

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for text in pool.map(describe, groups.items()):
            print(text)


if __name__ == "__main__":
    main()
