#!/usr/bin/env python3
"""The protocol-mismatch corpus: real library usage, every mark checked by running it.

Usage: python3 tests/corpus/run.py ASYNCSENSE_BINARY SCRATCH_DIR [--compare] [--only TEXT] [--jobs N]

1. Environment. Creates `SCRATCH_DIR/case-venv` with pyenv's Python 3.12 (or `$CORPUS_PYTHON`)
   and pip-installs `requirements.txt` (every package of the closure pinned). A venv whose
   stamp (interpreter + requirements) matches is reused.
2. Runtime check. Every `case_…` function of `cases/` (top level of any module, packages
   included) runs in its own subprocess under that venv (`harness.py`, 60 s timeout):
   - A line carrying `# expect: APMxxx` is a mark. A case holds at most one mark inside its own
     body; a mark may also sit in a helper (a method, another module) that a case without a
     mark of its own reaches.
   - A case that fails must fail at a mark: the innermost traceback frame inside `cases/` is the
     marked line, the exception type and message are those of the marked rule (`RULE_ERRORS`),
     and a case with a mark of its own must fail at that mark.
   - A case that does not fail must have no mark and must not leave a coroutine "never
     awaited" (the warning a forgotten `await` gives).
   - Every mark must be reached by some case.
   Any disagreement is a corpus error: the run fails, whatever asyncsense says.
3. asyncsense. Runs `BINARY check --type-inference --output-format json cases/` with
   `VIRTUAL_ENV` set to the case venv and compares (file, line, code) with the marks: found,
   missed (no finding on the line, or another code), false positives (a finding on a line
   without a mark). `known-misses.txt` lists the current misses and false positives; the run
   fails if one appears that is not listed, or if a listed one no longer happens (so the list
   only shrinks, and honestly).
4. Safe fixes, run. Applies `check --fix` to a copy of `cases/` and runs every case again: a
   case that completed must still complete, and a case that failed at a mark whose finding has a
   safe fix must no longer raise that mark's protocol error (`--skip-fix-run` leaves this out).
5. `--compare` also runs pinned pyright, pyrefly, ty and mypy (installed into
   `SCRATCH_DIR/tool-venv`) on `cases/` with the case venv as their environment, counts the
   marked lines each reports an error on and the errors on unmarked lines, and prints a
   markdown table. It never changes the exit status. Details: `SCRATCH_DIR/compare.json`.

Needs network access to PyPI (and npm, for pyright's wrapper) only while it installs.
"""

import argparse
import ast
import concurrent.futures
import dataclasses
import glob
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
CASES = HERE / "cases"
REQUIREMENTS = HERE / "requirements.txt"
KNOWN = HERE / "known-misses.txt"
HARNESS = HERE / "harness.py"
CASE_TIMEOUT = 60

TOOL_PINS = ["pyright==1.1.414", "pyrefly==1.5.0", "ty==1.0.0", "mypy==2.4.1"]

MARK = re.compile(r"#\s*expect:\s*(APM\d{3})\b(?:\s+silent:\s*(.+))?")

# What a mark's mistake does when it runs under CPython 3.12: the exception types and the
# message (a regular expression, searched) for each rule. Every mark is checked against these.
_ENTER_ASYNC = r"does not support the asynchronous context manager protocol"
_ENTER_SYNC = r"does not support the context manager protocol|Use async with instead"
_ASYNC_FOR = r"'async for' requires an object with __aiter__ method"
_NOT_ITERABLE = r"object is not iterable|can only join an iterable"
_NOT_AWAITABLE = r"can't be used in 'await' expression"
RULE_ERRORS = {
    "APM101": ({"TypeError", "AttributeError"}, _ENTER_ASYNC),
    "APM102": ({"TypeError", "AttributeError"}, _ASYNC_FOR + r"|is not an async iterator"),
    "APM103": ({"TypeError", "AttributeError"}, _ENTER_SYNC),
    "APM104": ({"TypeError", "AttributeError"}, _NOT_ITERABLE),
    "APM105": ({"TypeError", "AttributeError"}, _ASYNC_FOR),
    "APM106": ({"TypeError", "AttributeError"}, _ENTER_ASYNC),
    "APM107": ({"TypeError", "AttributeError"}, _NOT_AWAITABLE),
    # An awaitable used where its awaited result was meant: a coroutine (named in the message) or
    # an awaitable object (SQLAlchemy's `conn.stream()`) that lacks the protocol itself.
    "APM108": (
        {"TypeError", "AttributeError"},
        "|".join([r"\bcoroutine\b", _ENTER_ASYNC, _ENTER_SYNC, _ASYNC_FOR, _NOT_ITERABLE]),
    ),
    # A function used where its call was meant: any protocol error, on a function, class or factory.
    "APM109": (
        {"TypeError", "AttributeError"},
        "|".join([_ENTER_ASYNC, _ENTER_SYNC, _ASYNC_FOR, _NOT_ITERABLE]),
    ),
    # An API handed a coroutine function for a coroutine (or the reverse) rejects it.
    "APM110": ({"TypeError", "ValueError"}, r"coroutine|awaitable|" + _NOT_AWAITABLE),
}
NEVER_AWAITED = re.compile(r"was never awaited")
# Marks whose mistake raises nothing (`# expect: APMxxx silent: what happens instead`): the
# case must complete, the marked line must run, and the case asserts the wrong effect itself.
SILENT = {}


@dataclasses.dataclass
class Case:
    file: str  # relative to cases/, with forward slashes
    module: str
    name: str
    first: int
    last: int
    mark: tuple = None  # (line, code) of the mark inside the body, if any
    outcome: dict = None
    reached: tuple = None  # (file, line) of the mark it failed at


def fail_early(message):
    print(f"corpus: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# 1. Environment


def find_python():
    explicit = os.environ.get("CORPUS_PYTHON")
    if explicit:
        return explicit
    found = glob.glob(os.path.expanduser("~/.pyenv/versions/3.12.*/bin/python"))
    found.sort(key=lambda path: [int(part) for part in re.findall(r"3\.12\.(\d+)", path)[:1]] or [0])
    if not found:
        fail_early("no Python 3.12 under ~/.pyenv/versions (set CORPUS_PYTHON to one)")
    return found[-1]


def ensure_venv(path, python, requirements, extra_args=()):
    """Creates (or reuses, when its stamp matches) a venv with exactly these requirements."""
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True).stdout
    stamp = hashlib.sha256((python + "\n" + version + "\n" + requirements).encode()).hexdigest()
    stamp_file = path / ".corpus-stamp"
    interpreter = path / "bin" / "python"
    if stamp_file.exists() and stamp_file.read_text() == stamp and interpreter.exists():
        return interpreter, False
    if path.exists():
        shutil.rmtree(path)
    subprocess.run([python, "-m", "venv", str(path)], check=True)
    listing = path / ".corpus-requirements.txt"
    listing.write_text(requirements)
    subprocess.run(
        [str(interpreter), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--only-binary", ":all:", "-r", str(listing), *extra_args],
        check=True,
    )
    subprocess.run([str(interpreter), "-m", "pip", "check", "--disable-pip-version-check"], check=True, stdout=subprocess.DEVNULL)
    stamp_file.write_text(stamp)
    return interpreter, True


# ---------------------------------------------------------------------------------------------
# 2. Cases and marks


def discover(only=None):
    cases, marks, problems = [], {}, []
    for path in sorted(CASES.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(CASES).as_posix()
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            found = MARK.findall(line)
            if len(found) > 1:
                problems.append(f"{rel}:{number}: more than one mark on a line")
            if found:
                code, silent = found[0]
                marks[(rel, number)] = code
                if silent:
                    SILENT[(rel, number)] = silent.strip()
        parts = rel[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join(parts)
        seen = set()
        for node in ast.parse(text, filename=rel).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("case_"):
                if node.name in seen:
                    problems.append(f"{rel}: {node.name} is defined twice")
                seen.add(node.name)
                cases.append(Case(rel, module, node.name, node.lineno, node.end_lineno))
    for (rel, line), code in sorted(marks.items()):
        if code not in RULE_ERRORS:
            problems.append(f"{rel}:{line}: no runtime expectation for {code} (see RULE_ERRORS in run.py)")
        owners = [case for case in cases if case.file == rel and case.first <= line <= case.last]
        for case in owners:
            if case.mark is not None:
                problems.append(f"{rel}: {case.name} holds more than one mark (lines {case.mark[0]} and {line})")
            case.mark = (line, code)
    if only:
        cases = [case for case in cases if only in f"{case.file}::{case.name}"]
    return cases, marks, problems


def run_case(python, case, workdir, cases_dir=CASES):
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    env.pop("VIRTUAL_ENV", None)
    watch = []
    if case.mark is not None and (case.file, case.mark[0]) in SILENT and cases_dir == CASES:
        watch = [str(CASES / case.file), str(case.mark[0])]
    try:
        completed = subprocess.run(
            [str(python), str(HARNESS), str(cases_dir), case.module, case.name, *watch],
            capture_output=True, text=True, timeout=CASE_TIMEOUT, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("HARNESS "):
            return json.loads(line[len("HARNESS "):])
    return {"status": "crash", "stderr": completed.stderr[-2000:], "returncode": completed.returncode}


def judge(case, marks):
    """The corpus errors of one case, and the mark it failed at (if it failed at one)."""
    outcome = case.outcome
    where = f"{case.file}::{case.name}"
    if outcome["status"] in ("timeout", "crash"):
        return [f"{where}: the case {outcome['status']}ed: {outcome.get('stderr', '')}"], None
    if outcome["status"] == "ok":
        errors = []
        if case.mark is not None and (case.file, case.mark[0]) in SILENT:
            if not outcome.get("watched_line_ran"):
                return [f"{where}: completed, but its silent mark on line {case.mark[0]} never ran"], None
            return [], (case.file, case.mark[0])
        if case.mark is not None:
            errors.append(f"{where}: completed, but line {case.mark[0]} is marked {case.mark[1]}")
        else:
            for warning in outcome["warnings"]:
                if NEVER_AWAITED.search(warning["message"]):
                    errors.append(f"{where}: completed but left a coroutine never awaited: {warning['message']}")
        return errors, None
    inside = [(pathlib.Path(file), line) for file, line in outcome["frames"] if _inside(file)]
    summary = f"{outcome['type']}: {outcome['message'][:300]}"
    if not inside:
        return [f"{where}: failed outside cases/ ({summary})"], None
    file, line = inside[-1]
    location = (file.resolve().relative_to(CASES).as_posix(), line)
    code = marks.get(location)
    if location in SILENT:
        return [f"{where}: failed at {location[0]}:{line}, whose mark says it is silent ({summary})"], None
    if code is None:
        return [f"{where}: failed at {location[0]}:{line}, which has no mark ({summary})"], None
    if case.mark is not None and location != (case.file, case.mark[0]):
        return [f"{where}: failed at {location[0]}:{line}, not at its own mark on line {case.mark[0]} ({summary})"], None
    types, pattern = RULE_ERRORS[code]
    errors = []
    if outcome["type"] not in types:
        errors.append(f"{where}: {code} at {location[0]}:{line} raised {summary}, expected one of {sorted(types)}")
    elif not re.search(pattern, outcome["message"]):
        errors.append(f"{where}: {code} at {location[0]}:{line} raised {summary}, whose message does not match /{pattern}/")
    return errors, location


def _inside(file):
    try:
        pathlib.Path(file).resolve().relative_to(CASES)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# 3. asyncsense


def run_asyncsense(binary, venv):
    env = dict(os.environ, VIRTUAL_ENV=str(venv))
    env.pop("ASYNCSENSE_LOG", None)
    started = time.monotonic()
    completed = subprocess.run(
        [binary, "check", "--type-inference", "--output-format", "json", str(CASES)],
        capture_output=True, text=True, env=env, cwd=HERE,
    )
    elapsed = time.monotonic() - started
    if completed.returncode not in (0, 1):
        fail_early(f"asyncsense exited {completed.returncode}:\n{completed.stderr}")
    findings = []
    for item in json.loads(completed.stdout or "[]"):
        path = pathlib.Path(item["filename"])
        if not path.is_absolute():
            path = HERE / path
        rel = path.resolve().relative_to(CASES).as_posix()
        findings.append({
            "file": rel, "line": item["location"]["row"], "code": item["code"], "message": item["message"],
            "fix": (item.get("fix") or {}).get("applicability"),
        })
    return findings, elapsed


# ---------------------------------------------------------------------------------------------
# 4. Safe fixes, run


def check_safe_fixes(binary, venv, venv_python, cases, marks, findings, scratch, jobs):
    """Applies every safe fix (`check --fix`) to a copy of `cases/` and runs every case again.
    A case that completed must still complete (a safe fix never breaks working code); a case
    that failed at a mark whose finding has a safe fix must no longer raise that mark's protocol
    error. What the repaired code then does (complete, or reach the network) is reported.
    Returns the errors."""
    fixed = scratch / "fixed-cases"
    shutil.rmtree(fixed, ignore_errors=True)
    shutil.copytree(CASES, fixed, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, VIRTUAL_ENV=str(venv))
    env.pop("ASYNCSENSE_LOG", None)
    completed = subprocess.run(
        [binary, "check", "--type-inference", "--fix", str(fixed)], capture_output=True, text=True, env=env, cwd=HERE,
    )
    if completed.returncode not in (0, 1):
        return [f"check --fix exited {completed.returncode}: {completed.stderr[-2000:]}"]
    changed = sorted(
        path.relative_to(fixed).as_posix() for path in fixed.rglob("*.py")
        if path.read_bytes() != (CASES / path.relative_to(fixed)).read_bytes()
    )
    safe_marks = {(f["file"], f["line"]) for f in findings if f["fix"] == "safe" and (f["file"], f["line"]) in marks}
    workdir = scratch / "work-fixed"
    workdir.mkdir(exist_ok=True)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        after = list(pool.map(lambda case: run_case(venv_python, case, workdir, fixed), cases))
    errors, repaired, elsewise = [], [], []
    for case, outcome in zip(cases, after):
        where = f"{case.file}::{case.name}"
        before = case.outcome
        if before["status"] == "ok" and not case.reached:
            if outcome["status"] != "ok":
                errors.append(f"{where}: completed before the safe fixes, {outcome['status']} after: {outcome.get('type', '')} {outcome.get('message', '')[:200]}")
            continue
        if case.reached not in safe_marks:
            continue
        code = marks[case.reached]
        types, pattern = RULE_ERRORS[code]
        if outcome["status"] == "error" and outcome["type"] in types and re.search(pattern, outcome["message"]):
            errors.append(f"{where}: the safe fix for {code} at {case.reached[0]}:{case.reached[1]} left the protocol error: {outcome['type']}: {outcome['message'][:200]}")
        elif outcome["status"] == "ok":
            repaired.append(where)
        else:
            elsewise.append(f"{where}: {outcome['status']} {outcome.get('type', '')}: {outcome.get('message', '')[:120]}")
    print(
        f"\nsafe fixes, run: {len(changed)} files changed, {len(safe_marks)} marks with a safe fix; "
        f"{len(repaired)} of their cases now complete, {len(elsewise)} now do something else, "
        f"{len(errors)} errors ({time.monotonic() - started:.1f} s)"
    )
    for line in elsewise:
        print(f"  repaired, then: {line}")
    for error in errors:
        print(f"  ERROR {error}")
    return errors


def read_known():
    sections = {"misses": set(), "false-positives": set()}
    current = None
    for number, raw in enumerate(KNOWN.read_text(encoding="utf-8").splitlines(), 1) if KNOWN.exists() else []:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in sections:
                fail_early(f"known-misses.txt:{number}: unknown section [{current}]")
            continue
        if current is None or not re.fullmatch(r"[\w./-]+\.py:\d+", line):
            fail_early(f"known-misses.txt:{number}: expected `file.py:line` under [misses] or [false-positives], got {raw!r}")
        file, number_text = line.rsplit(":", 1)
        sections[current].add((file, int(number_text)))
    return sections


def compare_asyncsense(marks, findings, case_names):
    by_line = {}
    for finding in findings:
        by_line.setdefault((finding["file"], finding["line"]), []).append(finding)
    found, wrong, missed = [], [], []
    for location, code in sorted(marks.items()):
        codes = [finding["code"] for finding in by_line.get(location, [])]
        if code in codes:
            found.append(location)
        elif codes:
            wrong.append((location, codes))
        else:
            missed.append(location)
    false_positives = [finding for finding in findings if (finding["file"], finding["line"]) not in marks]
    return found, wrong, missed, false_positives


# ---------------------------------------------------------------------------------------------
# 4. Other tools


def tool_errors(name, tools_bin, venv_python, scratch):
    """(version, [(file, line, message)], seconds) for the errors one type checker reports."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PYRIGHT_PYTHON_CACHE_DIR"] = str(scratch / "pyright-cache")
    if name == "pyright":
        command = [str(tools_bin / "pyright"), "--outputjson", "--pythonpath", str(venv_python), "."]
    elif name == "pyrefly":
        command = [str(tools_bin / "pyrefly"), "check", "--python-interpreter-path", str(venv_python), "--output-format", "json",
                   # Without a config file pyrefly picks its `basic` preset, which checks almost nothing.
                   "--preset", "default", "."]
    elif name == "ty":
        command = [str(tools_bin / "ty"), "check", "--python", str(venv_python), "--output-format", "concise", "--no-progress", "."]
    else:
        command = [
            str(tools_bin / "mypy"), "--python-executable", str(venv_python), "--check-untyped-defs", "--explicit-package-bases",
            "--no-error-summary", "--show-error-codes", "--no-pretty", "--show-column-numbers", "--cache-dir", str(scratch / "mypy-cache"), ".",
        ]
    version = subprocess.run([command[0], "--version"], capture_output=True, text=True, env=env).stdout.strip().splitlines()
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=CASES, env=env)
    elapsed = time.monotonic() - started
    errors = []
    if name == "pyright":
        for diagnostic in json.loads(completed.stdout)["generalDiagnostics"]:
            if diagnostic["severity"] == "error":
                errors.append((diagnostic["file"], diagnostic["range"]["start"]["line"] + 1, diagnostic["message"]))
    elif name == "pyrefly":
        text = completed.stdout[completed.stdout.find("{"):]
        for error in json.loads(text)["errors"]:
            if error.get("severity", "error") == "error":
                errors.append((error["path"], error["line"], error.get("concise_description") or error["description"]))
    else:
        pattern = re.compile(r"^(.+?\.pyi?):(\d+):(?:\d+:)? (error)(?:\[[\w-]+\])?:? (.*)$")
        for line in completed.stdout.splitlines():
            match = pattern.match(line)
            if match:
                errors.append((match.group(1), int(match.group(2)), match.group(4)))
    if not errors and completed.returncode not in (0, 1):
        print(f"  {name} exited {completed.returncode}: {completed.stderr[-1000:]}")
    normal = []
    for file, line, message in errors:
        path = pathlib.Path(file)
        if not path.is_absolute():
            path = CASES / path
        try:
            normal.append((path.resolve().relative_to(CASES).as_posix(), line, message))
        except ValueError:
            continue  # an error in an installed package
    return (version[-1] if version else "?"), normal, elapsed


def compare_tools(marks, findings, venv_python, scratch, asyncsense_time):
    tools_venv, _ = ensure_venv(scratch / "tool-venv", find_python(), "\n".join(TOOL_PINS) + "\n")
    tools_bin = tools_venv.parent
    rows, details = [], {f"{file}:{line}": {"code": code, "found_by": []} for (file, line), code in marks.items()}
    marked_lines = set(marks)

    def add_row(name, version, located, elapsed, exact=None):
        hit = {(file, line) for file, line in located if (file, line) in marked_lines}
        off = [(file, line) for file, line in located if (file, line) not in marked_lines]
        for location in sorted(hit):
            details[f"{location[0]}:{location[1]}"]["found_by"].append(name)
        found_text = f"{len(hit)} / {len(marks)}" + (f" ({exact} with the marked code)" if exact is not None else "")
        rows.append((name, version, found_text, str(len(off)), str(len(set(off))), f"{elapsed:.1f}"))

    exact = sum(1 for location, code in marks.items() if any(f["code"] == code and (f["file"], f["line"]) == location for f in findings))
    add_row("asyncsense --type-inference", "", [(f["file"], f["line"]) for f in findings], asyncsense_time, exact)
    errors_by_tool = {}
    for name in ("pyright", "pyrefly", "ty", "mypy"):
        version, errors, elapsed = tool_errors(name, tools_bin, venv_python, scratch)
        errors_by_tool[name] = [{"file": file, "line": line, "message": message} for file, line, message in errors]
        add_row(name, version, [(file, line) for file, line, _ in errors], elapsed)
    for name, errors in errors_by_tool.items():
        for error in errors:
            key = f"{error['file']}:{error['line']}"
            if key in details:
                details[key].setdefault("messages", {}).setdefault(name, []).append(error["message"])
    (scratch / "compare.json").write_text(json.dumps({"marks": details, "errors": errors_by_tool}, indent=1))
    print("\n| tool | version | marked lines with an error | errors on unmarked lines | unmarked lines with an error | check time (s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    nobody = [key for key, value in details.items() if not value["found_by"]]
    print(f"\nmarked lines no tool reports: {len(nobody)}")
    only_others = [key for key, value in details.items() if value["found_by"] and "asyncsense --type-inference" not in value["found_by"]]
    print(f"marked lines another tool reports but asyncsense does not: {len(only_others)}")
    for key in only_others:
        print(f"  {key} {details[key]['code']}: {', '.join(details[key]['found_by'])}")


# ---------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("scratch")
    parser.add_argument("--compare", action="store_true", help="also run pyright, pyrefly, ty and mypy")
    parser.add_argument("--only", help="run only the cases whose `file::name` contains this text (runtime check only)")
    parser.add_argument("--skip-fix-run", action="store_true", help="do not run the cases again after `check --fix`")
    parser.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 2)), help="cases run at once")
    args = parser.parse_args()
    binary = str(pathlib.Path(args.binary).resolve())
    scratch = pathlib.Path(args.scratch).resolve()
    scratch.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    venv_python, created = ensure_venv(scratch / "case-venv", find_python(), REQUIREMENTS.read_text(encoding="utf-8"))
    venv = venv_python.parent.parent
    venv_time = time.monotonic() - started
    print(f"case venv: {venv} ({'created' if created else 'reused'} in {venv_time:.1f} s)")

    cases, marks, problems = discover(args.only)
    corpus_errors = list(problems)
    workdir = scratch / "work"
    workdir.mkdir(exist_ok=True)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for case, outcome in zip(cases, pool.map(lambda case: run_case(venv_python, case, workdir), cases)):
            case.outcome = outcome
    runtime_time = time.monotonic() - started
    for case in cases:
        errors, case.reached = judge(case, marks)
        corpus_errors.extend(errors)
    reached = {case.reached for case in cases if case.reached}
    if not args.only:
        for location, code in sorted(marks.items()):
            if location not in reached:
                corpus_errors.append(f"{location[0]}:{location[1]}: mark {code} is reached by no case")
    positives = [case for case in cases if case.reached]
    negatives = [case for case in cases if case.outcome["status"] == "ok" and not case.reached]
    print(
        f"runtime check: {len(cases)} cases ({len(positives)} fail at a mark, {len(negatives)} complete), "
        f"{len(marks)} marks, {runtime_time:.1f} s with {args.jobs} jobs"
    )
    if corpus_errors:
        print(f"\nCORPUS ERRORS ({len(corpus_errors)}): the cases do not do what their marks say")
        for error in corpus_errors:
            print(f"  {error}")
    if args.only:
        return 1 if corpus_errors else 0

    findings, check_time = run_asyncsense(binary, venv)
    found, wrong, missed, false_positives = compare_asyncsense(marks, findings, cases)
    wrong_lines = {location for location, _ in wrong}
    fp_by_line = {}
    for finding in false_positives:
        fp_by_line.setdefault((finding["file"], finding["line"]), []).append(finding["code"])

    print(f"\nasyncsense check --type-inference: {len(findings)} findings in {check_time:.2f} s\n")
    for case in cases:
        where = f"{case.file}::{case.name}"
        if case.reached:
            code = marks[case.reached]
            location = f"{case.reached[0]}:{case.reached[1]}"
            if case.reached in set(found):
                verdict = "found"
            elif case.reached in wrong_lines:
                verdict = "MISSED (reported " + ", ".join(dict(wrong)[case.reached]) + ")"
            else:
                verdict = "MISSED"
            print(f"  {verdict:<9} {code} {location:<38} {where}")
        else:
            fps = {loc: codes for loc, codes in fp_by_line.items() if loc[0] == case.file and case.first <= loc[1] <= case.last}
            verdict = "ok" if not fps else "FALSE POSITIVE " + "; ".join(f"{loc[0]}:{loc[1]} {','.join(codes)}" for loc, codes in fps.items())
            print(f"  {'negative':<9} {verdict:<45} {where}")
    outside = {loc: codes for loc, codes in fp_by_line.items() if not any(c.file == loc[0] and c.first <= loc[1] <= c.last for c in cases)}
    for loc, codes in sorted(outside.items()):
        print(f"  FALSE POSITIVE outside case bodies: {loc[0]}:{loc[1]} {','.join(codes)}")
    print(
        f"\ntotals: {len(marks)} marks: {len(found)} found, {len(missed) + len(wrong)} missed"
        f" ({len(wrong)} of them reported with another code); {len(false_positives)} false positives"
        f" on {len(fp_by_line)} unmarked lines"
    )

    known = read_known()
    actual_misses = set(missed) | wrong_lines
    actual_fps = set(fp_by_line)
    verdicts = []
    for location in sorted(actual_misses - known["misses"]):
        verdicts.append(f"new miss (not in known-misses.txt): {location[0]}:{location[1]} {marks[location]}")
    for location in sorted(known["misses"] - actual_misses):
        state = "is not a mark" if location not in marks else "is found now: remove it from known-misses.txt"
        verdicts.append(f"listed miss {location[0]}:{location[1]} {state}")
    for location in sorted(actual_fps - known["false-positives"]):
        verdicts.append(f"new false positive (not in known-misses.txt): {location[0]}:{location[1]} {','.join(fp_by_line[location])}")
    for location in sorted(known["false-positives"] - actual_fps):
        verdicts.append(f"listed false positive {location[0]}:{location[1]} no longer happens: remove it from known-misses.txt")
    if verdicts:
        print("\nKNOWN-MISSES MISMATCH:")
        for verdict in verdicts:
            print(f"  {verdict}")

    if not args.skip_fix_run:
        verdicts.extend(check_safe_fixes(binary, venv, venv_python, cases, marks, findings, scratch, args.jobs))

    if args.compare:
        compare_tools(marks, findings, venv_python, scratch, check_time)

    status = "FAIL" if corpus_errors or verdicts else "PASS"
    print(
        f"\n{status}: {len(cases)} cases, {len(marks)} marks, {len(corpus_errors)} corpus errors, "
        f"{len(verdicts)} known-misses mismatches and fix errors (venv {venv_time:.1f} s, runtime {runtime_time:.1f} s, asyncsense {check_time:.2f} s)"
    )
    return 1 if corpus_errors or verdicts else 0


if __name__ == "__main__":
    sys.exit(main())
