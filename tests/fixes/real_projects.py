"""Safe fixes on real packages: `check --fix` on pinned sdists from PyPI, then properties.

For each package the tree is checked, fixed with `check --fix` (safe fixes only), and checked
again. The properties:
- every file `--fix` changed still compiles;
- the findings after are the findings before, minus the ones fixed: no new finding;
- no finding, and no change, lies inside a block that expects the protocol error
  (`pytest.raises(TypeError)`, `assertRaises`, trio's `RaisesGroup`, `except TypeError:`),
  which tests write on purpose.

Usage: python3 tests/fixes/real_projects.py BINARY [WORK_DIR]
Needs network access to PyPI (pip download). Exits non-zero on the first broken property.
"""

import ast
import collections
import difflib
import json
import pathlib
import shutil
import subprocess
import sys
import tarfile

# Pinned sdists with async test suites: trio and aioredis write deliberate misuse inside
# `pytest.raises`; redis's asyncio tests annotate fixtures with the sync client.
PACKAGES = ["trio==0.25.0", "aioredis==2.0.1", "redis==5.0.4"]

EXPECTING_CALLS = {"raises", "assertRaises", "assertRaisesRegex", "assertRaisesRegexp", "RaisesGroup", "RaisesExc", "Matcher"}
PROTOCOL_ERRORS = {"TypeError", "AttributeError", "RuntimeError"}


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def names_error(node, errors):
    if isinstance(node, ast.Name):
        return node.id in errors
    if isinstance(node, ast.Attribute):
        return node.attr in errors
    if isinstance(node, ast.Tuple):
        return any(names_error(element, errors) for element in node.elts)
    if isinstance(node, ast.Call):
        return bool(node.args) and names_error(node.args[0], errors)
    return False


def expecting_spans(source):
    """Line spans (first, last) of block bodies that expect a protocol error."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                call = item.context_expr
                if not isinstance(call, ast.Call):
                    continue
                name = getattr(call.func, "attr", getattr(call.func, "id", None))
                if name in EXPECTING_CALLS and call.args and names_error(call.args[0], PROTOCOL_ERRORS):
                    spans.append((node.body[0].lineno, node.end_lineno))
        elif isinstance(node, ast.Try):
            if any(handler.type is not None and names_error(handler.type, {"TypeError", "AttributeError"}) for handler in node.handlers):
                spans.append((node.body[0].lineno, node.body[-1].end_lineno))
    return spans


def check(binary, tree, *flags):
    result = subprocess.run(
        [binary, "check", "--exit-zero", *flags, "."], cwd=tree, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        fail(f"asyncsense check {' '.join(flags)} in {tree} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def findings(binary, tree):
    return json.loads(check(binary, tree, "--output-format", "json"))


def fetch(spec, work):
    downloads = work / "sdists"
    downloads.mkdir(parents=True, exist_ok=True)
    name, version = spec.split("==")
    archives = [path for path in downloads.glob("*.tar.gz") if path.name.lower().replace("_", "-").startswith(f"{name}-{version}")]
    if not archives:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", spec, "-d", str(downloads)],
            check=True,
        )
        archives = [path for path in downloads.glob("*.tar.gz") if path.name.lower().replace("_", "-").startswith(f"{name}-{version}")]
    if not archives:
        fail(f"no sdist for {spec} in {downloads}")
    original = work / "original" / spec
    if original.exists():
        shutil.rmtree(original)
    original.mkdir(parents=True)
    with tarfile.open(archives[0]) as archive:
        archive.extractall(original)
    return original


def main():
    binary = str(pathlib.Path(sys.argv[1]).resolve())
    work = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/asyncsense-real-projects")
    for spec in PACKAGES:
        original = fetch(spec, work)
        fixed = work / "fixed" / spec
        if fixed.exists():
            shutil.rmtree(fixed)
        shutil.copytree(original, fixed)

        before = findings(binary, fixed)
        for finding in before:
            source = (fixed / finding["filename"]).read_text(encoding="utf-8")
            row = finding["location"]["row"]
            if any(first <= row <= last for first, last in expecting_spans(source)):
                fail(f"{spec}: {finding['filename']}:{row} {finding['code']} is inside a block that expects the error")
        check(binary, fixed, "--fix")
        after = findings(binary, fixed)

        changed = []
        for path in sorted(fixed.rglob("*.py")):
            relative = path.relative_to(fixed)
            old = (original / relative).read_text(encoding="utf-8", errors="replace")
            new = path.read_text(encoding="utf-8", errors="replace")
            if old == new:
                continue
            changed.append(str(relative))
            try:
                compile(new, str(relative), "exec")
            except SyntaxError as error:
                fail(f"{spec}: {relative} no longer compiles after --fix: {error}")
            spans = expecting_spans(old)
            matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
            for tag, first, last, _, _ in matcher.get_opcodes():
                if tag == "equal":
                    continue
                for line in range(first + 1, max(last, first + 1) + 1):
                    if any(start <= line <= end for start, end in spans):
                        fail(f"{spec}: --fix changed {relative}:{line}, inside a block that expects the error")

        count = lambda items: collections.Counter((item["filename"], item["code"]) for item in items)
        safe = [finding for finding in before if (finding.get("fix") or {}).get("applicability") == "safe"]
        new_findings = count(after) - count(before)
        if new_findings:
            fail(f"{spec}: --fix introduced findings: {dict(new_findings)}")
        if len(after) != len(before) - len(safe):
            fail(f"{spec}: {len(before)} findings, {len(safe)} with a safe fix, but {len(after)} left after --fix")
        print(f"{spec}: {len(before)} findings ({len(safe)} with a safe fix), {len(changed)} files changed, {len(after)} left")


if __name__ == "__main__":
    main()
