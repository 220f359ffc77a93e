"""Instructions the server executes per keystroke, counted by valgrind's callgrind.

The editor latency (lsp_latency.py) is time, and on a shared or virtual machine the same binary's
time per edit moves with the host's load and clock. An instruction count does not: it compares
two builds on any machine, on any day. It counts work, not waiting, caches or page faults.

The file and the edits are lsp_latency.py's (a generated 5,000-line module, one character typed
at a time into a comment). Start-up and the first analysis are taken out by difference: the
server is run twice under callgrind, with WARM and WARM + EDITS edits, and the difference in
instructions is divided by EDITS.

    python3 tests/bench/lsp_instructions.py [BINARY] [--edits N] [--json]

Needs `valgrind` on PATH (Debian: `apt-get install valgrind`); takes about a minute.
"""

import json
import os
import shlex
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lsp_latency import generate, one_server  # noqa: E402

WARM = 10


def totals(callgrind_out):
    """The instruction count of a callgrind output file (its `totals:` line)."""
    with open(callgrind_out) as handle:
        for line in handle:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {callgrind_out}")


def instructions(binary, root, uri, text, edits):
    """Instructions of one server run: start, open the file, type `edits` characters, exit."""
    out = os.path.join(root, f"callgrind-{edits}.out")
    wrapper = os.path.join(root, "server-under-callgrind")
    with open(wrapper, "w") as handle:
        handle.write(
            "#!/bin/sh\n"
            f"exec valgrind --tool=callgrind --callgrind-out-file={shlex.quote(out)} {shlex.quote(binary)} \"$@\"\n"
        )
    os.chmod(wrapper, 0o755)
    one_server(wrapper, root, uri, text, edits, [])
    return totals(out)


def main():
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    binary = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "target", "release", "asyncsense")
    binary = os.path.abspath(binary)
    edits = 100
    if "--edits" in sys.argv:
        edits = int(sys.argv[sys.argv.index("--edits") + 1])
    if shutil.which("valgrind") is None:
        sys.exit("lsp_instructions.py: valgrind is not on PATH (Debian: apt-get install valgrind)")
    root = tempfile.mkdtemp(prefix="asyncsense-bench-")
    try:
        text = generate()
        path = os.path.join(root, "big.py")
        with open(path, "w") as handle:
            handle.write(text)
        uri = "file://" + path
        base = instructions(binary, root, uri, text, WARM)
        more = instructions(binary, root, uri, text, WARM + edits)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    per_edit = (more - base) / edits
    if "--json" in sys.argv:
        print(json.dumps({"lines": text.count("\n"), "edits": edits, "per_edit": per_edit, "warm": WARM,
                          "base_total": base}))
        return
    print(f"file: {text.count(chr(10))} lines; {edits} edits after {WARM} warm-up edits")
    print(f"instructions per keystroke: {per_edit / 1e6:.2f} M (start-up and first analysis: {base / 1e6:.0f} M)")


if __name__ == "__main__":
    main()
