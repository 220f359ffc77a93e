#!/usr/bin/env python3
"""Edit → diagnostics latency of the language server on a generated 5,000-line file.

Usage: python3 tests/bench/lsp_latency.py [path/to/asyncsense] [--edits N] [--servers K] [--json]

Starts `asyncsense server` over stdio (push diagnostics, UTF-16), opens a generated module
with an async generator and ~600 use sites, then types N single-character edits one at a
time, each time waiting for the publishDiagnostics of that exact version. Prints p50/p90/p99
and the machine's load. Standard library only; a measurement, not a test.
"""

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from lsp_client import Client


def generate(lines_wanted=5000):
    out = ["import contextlib", "", "", "async def get_session():", "    yield 1", ""]
    idx = 0
    while len(out) < lines_wanted - 12:
        # One class in fifty has the bug; the rest iterate correctly.
        keyword = "async with self.factory() as session:" if idx % 50 == 0 else "async for session in self.factory():"
        out += [
            f"class Service{idx}:",
            "    def __init__(self):",
            "        self.factory = get_session",
            "",
            f"    async def run{idx}(self, items):",
            f"        {keyword}",
            "            for item in items:",
            "                await session.handle(item)",
            "",
            "",
        ]
        idx += 1
    out += ["", "# typing happens here: "]
    return "\n".join(out) + "\n"


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    binary = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "asyncsense")
    edits = 300
    if "--edits" in sys.argv:
        edits = int(sys.argv[sys.argv.index("--edits") + 1])
    # On a 2-CPU machine one server process can settle into a slow placement (its threads and
    # this client sharing a CPU) for its whole life: p50 2.6 or 4.0 ms by process. The edits are
    # spread over several server processes, and all their samples pooled.
    servers = 3
    if "--servers" in sys.argv:
        servers = max(1, int(sys.argv[sys.argv.index("--servers") + 1]))
    root = tempfile.mkdtemp(prefix="asyncsense-bench-")
    try:
        measure(binary, root, edits, servers, "--json" in sys.argv)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(binary, root, edits, servers, as_json):
    text = generate()
    path = os.path.join(root, "big.py")
    with open(path, "w") as handle:
        handle.write(text)
    uri = "file://" + path
    samples = []
    first = None
    for server in range(servers):
        share = edits // servers + (1 if server < edits % servers else 0)
        first = one_server(binary, root, uri, text, share, samples)
    report(text, first, samples, servers, as_json)


def one_server(binary, root, uri, text, edits, samples):
    """Opens the file in a fresh server, types `edits` characters, appends their latencies."""
    client = Client(binary)
    client.request("initialize", {"processId": None, "rootUri": "file://" + root, "capabilities": {}})
    client.notify("initialized", {})
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    first = client.wait_publish(uri, 1)
    last_line = text.count("\n") - 1
    column = len(text.splitlines()[-1])
    for version in range(2, edits + 2):
        start = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {"start": {"line": last_line, "character": column}, "end": {"line": last_line, "character": column}},
                        "text": "x",
                    }
                ],
            },
        )
        diagnostics = client.wait_publish(uri, version)
        samples.append((time.perf_counter() - start) * 1000)
        column += 1
        assert len(diagnostics) == len(first), "diagnostics changed while typing in a comment"
    client.close()
    return first


def report(text, first, samples, servers, as_json):
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(len(samples) * p))]

    if as_json:
        print(json.dumps({
            "lines": text.count("\n"), "bytes": len(text), "diagnostics": len(first), "edits": len(samples),
            "servers": servers,
            "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": samples[-1],
            "mean": statistics.mean(samples), "load": os.getloadavg(),
        }))
        return
    print(f"file: {text.count(chr(10))} lines, {len(text)} bytes, {len(first)} diagnostics")
    print(f"servers: {servers} (edits pooled)")
    print(f"edits: {len(samples)}  p50 {pct(0.5):.2f} ms  p90 {pct(0.9):.2f} ms  p99 {pct(0.99):.2f} ms  max {samples[-1]:.2f} ms  mean {statistics.mean(samples):.2f} ms")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
