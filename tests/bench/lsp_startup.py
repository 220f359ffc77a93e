#!/usr/bin/env python3
"""Workspace start-up time of the language server: how long indexing a folder takes.

Usage: python3 tests/bench/lsp_startup.py [path/to/asyncsense] FOLDER [--runs N] [--json]

Starts `asyncsense server` over stdio as an editor would (work-done progress supported,
`window/workDoneProgress/create` answered), with FOLDER as the workspace, and measures the time
from the `initialized` notification to the `$/progress` end of indexing. Reports the median
and minimum over N runs (default 3), the files the server says it indexed, the Python lines
under FOLDER, and the server's peak RSS (VmHWM, read before shutdown). Standard library only;
a measurement, not a test.
"""

import json
import os
import statistics
import sys
import time

from lsp_client import Client


def python_lines(folder):
    files = lines = 0
    for directory, subdirectories, names in os.walk(folder):
        # The folders the server skips (see `is_skipped_directory` in workspace.rs).
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name not in ("__pycache__", "node_modules", "venv", "site-packages", "target")
            and not os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))
        ]
        for name in names:
            if name.endswith(".py"):
                files += 1
                with open(os.path.join(directory, name), "rb") as handle:
                    lines += handle.read().count(b"\n")
    return files, lines


def one_run(binary, folder):
    uri = "file://" + os.path.abspath(folder)
    server = Client(binary)
    capabilities = {"window": {"workDoneProgress": True}}
    server.request(
        "initialize",
        {"processId": None, "rootUri": uri, "workspaceFolders": [{"uri": uri, "name": "bench"}], "capabilities": capabilities},
    )
    start = time.perf_counter()
    server.notify("initialized", {})
    message_at_end = None
    while message_at_end is None:
        message = server.receive()
        if message.get("method") == "$/progress" and message["params"]["value"].get("kind") == "end":
            message_at_end = message["params"]["value"].get("message", "")
    elapsed = time.perf_counter() - start
    rss = server.peak_rss_mib()
    server.close()
    return elapsed, message_at_end, rss


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    flags = sys.argv[1:]
    runs = int(flags[flags.index("--runs") + 1]) if "--runs" in flags else 3
    if "--runs" in flags:
        args.remove(flags[flags.index("--runs") + 1])
    if len(args) == 1:
        binary = os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "asyncsense")
        folder = args[0]
    elif len(args) == 2:
        binary, folder = args
    else:
        sys.exit(__doc__)
    files, lines = python_lines(folder)
    samples = [one_run(binary, folder) for _ in range(runs)]
    times = sorted(sample[0] for sample in samples)
    result = {
        "folder": os.path.abspath(folder),
        "python_files": files,
        "python_lines": lines,
        "runs": runs,
        "median_s": statistics.median(times),
        "min_s": times[0],
        "server_says": samples[-1][1],
        "peak_rss_mib": max((sample[2] for sample in samples if sample[2] is not None), default=None),
        "load": os.getloadavg(),
    }
    if "--json" in flags:
        print(json.dumps(result))
        return
    print(f"folder: {result['folder']} ({files} Python files, {lines:,} lines)")
    print(f"indexing: median {result['median_s']:.3f} s, min {result['min_s']:.3f} s over {runs} runs ({result['server_says']})")
    if result["peak_rss_mib"] is not None:
        print(f"server peak RSS: {result['peak_rss_mib']:.0f} MiB")
    print(f"load average: {result['load']}")


if __name__ == "__main__":
    main()
