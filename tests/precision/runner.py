#!/usr/bin/env python3
"""Precision on real code: check the pinned sdists of tests/precision/packages.txt.

    python3 tests/precision/runner.py BINARY SCRATCH [PACKAGES_FILE]

Fetches and unpacks the pins with sdists.py (which reads the index and the archives and runs
nothing from a package), then runs BINARY `check --output-format concise` over each package's
folder twice, one package at a time: plain, and with `--type-inference` (the preview type
layer). Each run is timed under /usr/bin/time -v when it is there, for wall time and peak
memory; a type-inference run that takes longer than ASYNCSENSE_TYPES_TIMEOUT seconds (default
180) is stopped and noted, and its package counts no type-layer findings.

Writes SCRATCH/reports/NAME-VERSION.{plain,types}.txt (the checker's output; .err and .time
beside them), SCRATCH/reports/summary.tsv and SCRATCH/reports/findings.txt, and prints a table
(package, files, lines of .py, findings per mode, seconds per mode, peak MB of the type-layer
run), the totals, every finding, and the files the parser rejected (APM000, not findings).
Files of other languages in an sdist (e.g. bundled Rust crates) are checked too, but their
lines are not counted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FINDING = re.compile(r":\d+:\d+: APM(?!000)\d{3} ")  # APM000 is a syntax error, counted apart
SYNTAX = re.compile(r":\d+:\d+: APM000 ")
MODES = {"plain": [], "types": ["--type-inference"]}


def read_pins(path: Path) -> list[str]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pins.append(line)
    return pins


def run_check(binary: str, folder: Path, extra: list[str], report: Path, timeout: float | None) -> dict:
    """One checker run; returns seconds, peak RSS in MB (0 when unknown), findings, status."""
    cmd = [binary, "check", "--output-format", "concise", "--exit-zero", *extra, folder.name]
    timer = shutil.which("time", path="/usr/bin")
    stats = report.with_suffix(".time")
    if timer:
        cmd = [timer, "-v", "-o", str(stats), *cmd]
    start = time.monotonic()
    status = "ok"
    with open(report, "w") as out, open(report.with_suffix(".err"), "w") as err:
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, cwd=folder.parent)
            if proc.returncode != 0:
                status = f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = "timeout"
    seconds = time.monotonic() - start
    peak_mb = 0.0
    if timer and stats.is_file():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats.read_text())
        if m:
            peak_mb = int(m.group(1)) / 1024
    lines = [] if status == "timeout" else report.read_text().splitlines()
    findings = [l for l in lines if FINDING.search(l)]
    syntax = [l for l in lines if SYNTAX.search(l)]
    return {"seconds": seconds, "peak_mb": peak_mb, "findings": findings, "syntax": syntax, "status": status}


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, scratch = str(Path(sys.argv[1]).resolve()), Path(sys.argv[2]).resolve()
    pins = read_pins(Path(sys.argv[3]) if len(sys.argv) > 3 else HERE / "packages.txt")
    types_timeout = float(os.environ.get("ASYNCSENSE_TYPES_TIMEOUT", "180"))
    reports = scratch / "reports"
    reports.mkdir(parents=True, exist_ok=True)

    fetched = subprocess.run(
        [sys.executable, str(HERE / "sdists.py"), str(scratch), *pins],
        stdout=subprocess.PIPE, text=True, check=True,
    ).stdout
    packages = []
    for line in fetched.splitlines():
        pin, folder, files, lines = line.split("\t")
        packages.append((pin, Path(folder), int(files), int(lines)))
    missing = len(pins) - len(packages)

    rows = []
    head = f"{'package':<42} {'files':>6} {'lines':>9} {'plain':>5} {'types':>5} {'s plain':>8} {'s types':>8} {'MB types':>8}  note"
    print(head)
    for pin, folder, files, lines in packages:
        results = {}
        for mode, extra in MODES.items():
            report = reports / f"{folder.name}.{mode}.txt"
            results[mode] = run_check(binary, folder, extra, report, types_timeout if mode == "types" else None)
        notes = [f"{m}: {r['status']}" for m, r in results.items() if r["status"] != "ok"]
        if results["plain"]["syntax"]:
            notes.append(f"{len(results['plain']['syntax'])} file(s) with syntax errors")
        note = ", ".join(notes)
        p, t = results["plain"], results["types"]
        row = (pin, folder, files, lines, p, t, note)
        rows.append(row)
        print(
            f"{pin:<42} {files:>6} {lines:>9} {len(p['findings']):>5} {len(t['findings']):>5} "
            f"{p['seconds']:>8.1f} {t['seconds']:>8.1f} {t['peak_mb']:>8.0f}  {note}",
            flush=True,
        )

    with open(reports / "summary.tsv", "w") as tsv:
        tsv.write("pin\tfiles\tlines\tfindings_plain\tfindings_types\tseconds_plain\tseconds_types\tpeak_mb_plain\tpeak_mb_types\tnote\n")
        for pin, _folder, files, lines, p, t, note in rows:
            tsv.write(
                f"{pin}\t{files}\t{lines}\t{len(p['findings'])}\t{len(t['findings'])}\t{p['seconds']:.2f}\t"
                f"{t['seconds']:.2f}\t{p['peak_mb']:.0f}\t{t['peak_mb']:.0f}\t{note}\n"
            )

    total_files = sum(r[2] for r in rows)
    total_lines = sum(r[3] for r in rows)
    print()
    print(f"packages: {len(rows)} checked, {missing} not fetched (see stderr)")
    print(f"total: {total_files} files, {total_lines} lines of .py")
    for i, mode in enumerate(MODES):
        res = [r[4 + i] for r in rows]
        n = sum(len(x["findings"]) for x in res)
        secs = sum(x["seconds"] for x in res)
        peak = max((x["peak_mb"] for x in res), default=0)
        print(f"{mode}: {n} findings, {secs:.0f} s, max peak {peak:.0f} MB")
    biggest = max(rows, key=lambda r: r[3], default=None)
    if biggest:
        print(f"biggest package {biggest[0]} ({biggest[3]} lines): plain {biggest[4]['seconds']:.1f} s "
              f"{biggest[4]['peak_mb']:.0f} MB, types {biggest[5]['seconds']:.1f} s {biggest[5]['peak_mb']:.0f} MB "
              f"{biggest[5]['status']}")
    with open(reports / "findings.txt", "w") as out:
        for i, mode in enumerate(MODES):
            print()
            print(f"findings, {mode}:")
            for r in rows:
                for f in r[4 + i]["findings"]:
                    print(f"  {f}")
                    out.write(f"{mode}\t{f}\n")
    syntax = [f for r in rows for f in r[4]["syntax"]]
    if syntax:
        print()
        print(f"files the parser rejected ({len(syntax)}; not findings):")
        for f in syntax:
            print(f"  {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
