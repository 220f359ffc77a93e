#!/usr/bin/env python3
"""Helper of compare.sh: `extract` unpacks the .py sources of a wheel, `run` runs the benchmark."""
import argparse
import sys
import zipfile
from pathlib import Path


def extract(args):
    wanted = args.package.lower().replace("-", "_")
    for wheel in args.wheels:
        with zipfile.ZipFile(wheel) as archive:
            taken = skipped = 0
            for name in archive.namelist():
                top = name.split("/", 1)[0]
                if top.lower() != wanted or not name.endswith(".py"):
                    skipped += 1
                    continue
                target = Path(args.dest) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
                taken += 1
            if taken == 0:
                sys.exit(f"compare.py: no {wanted}/*.py sources in {wheel}")
            print(f">> {Path(wheel).name}: {taken} .py files, {skipped} other entries left out", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# run

import datetime
import json
import os
import platform
import re
import statistics
import shutil
import subprocess
import tempfile
import time

# Folders asyncsense's discovery skips (server/analysis/src/workspace.rs, is_skipped_directory);
# ruff's default `exclude` skips the same ones that occur in a standard library.
SKIPPED_DIRS = {"__pycache__", "node_modules", "venv", "site-packages", "target"}


def loadavg():
    with open("/proc/loadavg") as handle:
        return tuple(float(value) for value in handle.read().split()[:3])


def fmt_load(load):
    return " / ".join(f"{value:.2f}" for value in load)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": mem_kib / 1024 / 1024,
        "kernel": f"{platform.system()} {platform.release()}",
    }


def python_files(root):
    """The .py files under `root`, skipping what asyncsense skips."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            name
            for name in dirnames
            if not name.startswith(".")
            and name not in SKIPPED_DIRS
            and not os.path.isfile(os.path.join(dirpath, name, "pyvenv.cfg"))
        )
        found += [os.path.join(dirpath, name) for name in filenames if name.endswith(".py")]
    return sorted(found)


def size_of(files):
    lines = size = 0
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        size += len(data)
        lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return {"files": len(files), "lines": lines, "bytes": size}


# Runs one command and writes to the file named by its first argument the wall time and the
# rusage of that single child (os.wait4 gives the rusage of exactly that process, whereas
# resource.getrusage(RUSAGE_CHILDREN) is a cumulative maximum). It is a separate small process
# because a child's peak RSS counts its memory before exec: forked (or vfork-spawned) straight
# from this script, every child would report at least this script's own RSS. What is left is
# the wrapper's own RSS at fork, reported as the "RSS floor" in the results.
WRAPPER = r"""
import json, os, sys, time
result_path, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(result_path, "w") as out:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss,
               "code": os.waitstatus_to_exitcode(status)}, out)
"""


def spawn(argv, cwd, stdout_path=os.devnull, stderr_path=os.devnull, env=None):
    """Runs argv once under WRAPPER; returns wall seconds, CPU seconds, peak RSS (KiB), exit code."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=cwd) as result:
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            subprocess.run(
                [sys.executable, "-S", "-c", WRAPPER, result.name, *argv], cwd=cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, check=True,
            )
        return json.load(result)


class Job:
    def __init__(self, key, label, argv, runs, count, must_succeed=True, env=None):
        self.key, self.label, self.argv, self.runs = key, label, argv, runs
        self.count = count  # parses the probe's stdout into a number of findings
        self.must_succeed = must_succeed
        self.env = env
        self.samples = []
        self.findings = None
        self.stderr_lines = []


def count_json_list(text):
    return len(json.loads(text)) if text.strip() else 0


def count_ty(text):
    match = re.search(r"Found (\d+) diagnostics?", text)
    if match:
        return int(match.group(1))
    return 0 if "All checks passed" in text else None


def probe(job, cwd, scratch):
    """One untimed run with the output kept: the findings count, the warnings, a warm cache."""
    out = os.path.join(scratch, f"probe-{job.key}.out")
    err = os.path.join(scratch, f"probe-{job.key}.err")
    argv = job.probe_argv
    result = spawn(argv, cwd, out, err, job.env)
    with open(out, errors="replace") as handle:
        text = handle.read()
    with open(err, errors="replace") as handle:
        job.stderr_lines = [line.rstrip("\n") for line in handle if line.strip()]
    if job.must_succeed and result["code"] != 0:
        sys.exit(
            f"compare.py: `{' '.join(argv)}` exited with {result['code']}; stderr:\n" + "\n".join(job.stderr_lines[-20:])
        )
    job.findings = job.count(text)


def alternate(jobs, cwd, label):
    rounds = max(job.runs for job in jobs)
    for round_idx in range(rounds):
        for job in jobs:
            if round_idx >= job.runs:
                continue
            load = loadavg()[0]
            result = spawn(job.argv, cwd, env=job.env)
            if job.must_succeed and result["code"] != 0:
                sys.exit(f"compare.py: `{' '.join(job.argv)}` exited with {result['code']} (run it by hand to see why)")
            result["load1"] = load
            job.samples.append(result)
            print(
                f"   {label} round {round_idx + 1}/{rounds} {job.label:<28} {result['wall']:7.3f} s wall"
                f" {result['cpu']:7.3f} s cpu {result['rss_kib'] / 1024:7.1f} MiB  load {load:.2f}",
                file=sys.stderr,
            )


def summary(job):
    walls = [sample["wall"] for sample in job.samples]
    return {
        "runs": len(walls),
        "median": statistics.median(walls),
        "min": min(walls),
        "max": max(walls),
        "cpu_median": statistics.median(sample["cpu"] for sample in job.samples),
        "rss_mib": max(sample["rss_kib"] for sample in job.samples) / 1024,
        "load_mean": statistics.mean(sample["load1"] for sample in job.samples),
    }


def tool_version(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"compare.py: cannot run `{' '.join(argv)}`: {error}")


def git_revision(repo):
    try:
        head = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_json_script(python, script, arguments):
    """Runs one of the editor benchmark scripts with `--json` and returns what it printed."""
    completed = subprocess.run(
        [python, script, *arguments, "--json"], capture_output=True, text=True, timeout=1800
    )
    if completed.returncode != 0:
        name = os.path.basename(script)
        sys.exit(f"compare.py: {name} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout)


def lsp_startup(python, script, binary, folder, runs):
    """Runs tests/bench/lsp_startup.py on one workspace folder and returns its JSON summary."""
    return run_json_script(python, script, [binary, folder, "--runs", str(runs)])


def lsp_latency(python, script, binary, edits):
    """Runs tests/bench/lsp_latency.py and returns its JSON summary (plus the load around it)."""
    before = loadavg()
    found = run_json_script(python, script, [binary, "--edits", str(edits)])
    found["load_before"], found["load_after"] = before, loadavg()
    found["output"] = (
        f"{found['lines']}-line file, {found['edits']} edits: p50 {found['p50']:.2f} ms, p90 {found['p90']:.2f} ms,"
        f" p99 {found['p99']:.2f} ms, max {found['max']:.2f} ms"
    )
    return found


def md_row(cells):
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def run(args):
    scratch = os.getcwd()
    repo = args.repo
    info = machine()
    pins = args.pins.split()
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = loadavg()
    print(f">> load average at start: {fmt_load(load_start)}", file=sys.stderr)

    versions = {
        "asyncsense": tool_version([args.asyncsense, "--version"]) + f" (git {git_revision(repo)})",
        "ruff": tool_version([args.ruff, "--version"]),
        "ty": tool_version([args.ty, "--version"]),
        "python (stdlib)": tool_version([args.stdlib_python, "--version"]),
    }

    corpus_rel = os.path.relpath(args.corpus, scratch)
    corpus_files = python_files(args.corpus)
    corpus_size = size_of(corpus_files)
    per_package = {}
    for pin in pins:
        name = pin.split("==")[0]
        per_package[pin] = size_of(python_files(os.path.join(args.corpus, name)))
    stdlib_files = python_files(args.stdlib)
    stdlib_size = size_of(stdlib_files)
    print(
        f">> corpus: {corpus_size['files']} files, {corpus_size['lines']:,} lines, {corpus_size['bytes']:,} bytes;"
        f" stdlib {args.stdlib}: {stdlib_size['files']} files, {stdlib_size['lines']:,} lines",
        file=sys.stderr,
    )

    clean_env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    clean_env.update({"NO_COLOR": "1", "RUST_LOG": "warn"})

    def asyncsense_job(key, target, runs):
        job = Job(key, "asyncsense", [args.asyncsense, "check", "--exit-zero", "--output-format", "concise", target],
                  runs, count_json_list, env=clean_env)
        job.probe_argv = [args.asyncsense, "check", "--exit-zero", "--output-format", "json", target]
        return job

    def ruff_job(key, select, target, runs):
        base = [args.ruff, "check", "--isolated", "--no-cache", "--select", select, "--exit-zero"]
        job = Job(key, f"ruff --select {select}", base + ["--output-format", "concise", target], runs,
                  count_json_list, env=clean_env)
        job.probe_argv = base + ["--output-format", "json", target]
        return job

    ty_base = [args.ty, "check", "--project", corpus_rel, "--python", args.venv_python, "--python-version", "3.11",
               "--no-progress", "--color", "never", "--exit-zero", "--output-format", "concise", corpus_rel]
    ty_job = Job("ty", "ty check", ty_base, args.ty_runs, count_ty, must_succeed=False, env=clean_env)
    ty_job.probe_argv = ty_base

    corpus_jobs = [
        asyncsense_job("asyncsense-corpus", corpus_rel, args.runs),
        ruff_job("ruff-async-corpus", "ASYNC", corpus_rel, args.runs),
        ruff_job("ruff-all-corpus", "ALL", corpus_rel, args.runs),
    ]
    if args.ty_runs > 0:
        corpus_jobs.append(ty_job)
    stdlib_jobs = [
        asyncsense_job("asyncsense-stdlib", args.stdlib, args.runs),
        ruff_job("ruff-async-stdlib", "ASYNC", args.stdlib, args.runs),
    ]

    # Files each tool actually looks at (ruff lists them; asyncsense follows python_files()).
    ruff_seen = {}
    for key, target in (("corpus", corpus_rel), ("stdlib", args.stdlib)):
        listed = subprocess.run([args.ruff, "check", "--isolated", "--no-cache", "--select", "ASYNC", "--show-files",
                                 target], capture_output=True, text=True, cwd=scratch, env=clean_env)
        ruff_seen[key] = sum(1 for line in listed.stdout.splitlines() if line.strip().endswith(".py"))

    true_path = shutil.which("true") or "/bin/true"
    rss_floor_mib = spawn([true_path], scratch)["rss_kib"] / 1024

    print(">> probe runs (untimed, output kept, warms the file cache)", file=sys.stderr)
    for job in corpus_jobs + stdlib_jobs:
        probe(job, scratch, scratch)
        print(f"   {job.key}: {job.findings} findings, {len(job.stderr_lines)} stderr lines", file=sys.stderr)

    print(f">> corpus: alternating {args.runs} runs each (ty {args.ty_runs})", file=sys.stderr)
    load_corpus_before = loadavg()
    alternate(corpus_jobs, scratch, "corpus")
    load_corpus_after = loadavg()
    print(f">> stdlib: alternating {args.runs} runs each", file=sys.stderr)
    alternate(stdlib_jobs, scratch, "stdlib")
    load_stdlib_after = loadavg()

    lsp = None
    if args.lsp_edits > 0:
        print(f">> editor latency: lsp_latency.py, {args.lsp_edits} edits", file=sys.stderr)
        lsp = lsp_latency(args.venv_python, args.lsp_script, args.asyncsense, args.lsp_edits)
        print("   " + lsp["output"].replace("\n", "\n   "), file=sys.stderr)
    counted = None
    if args.lsp_edits > 0 and shutil.which("valgrind"):
        print(">> editor work: lsp_instructions.py (callgrind), 100 edits", file=sys.stderr)
        counting_script = os.path.join(os.path.dirname(os.path.abspath(args.lsp_script)), "lsp_instructions.py")
        counted = run_json_script(args.venv_python, counting_script, [args.asyncsense, "--edits", "100"])
        print(f"   {counted['per_edit'] / 1e6:.2f} M instructions per keystroke", file=sys.stderr)
    startup = []
    if args.lsp_edits > 0:
        startup_script = os.path.join(os.path.dirname(os.path.abspath(args.lsp_script)), "lsp_startup.py")
        for title, folder in (("corpus", os.path.join(scratch, corpus_rel)), ("stdlib", args.stdlib)):
            print(f">> editor start-up: lsp_startup.py on the {title}", file=sys.stderr)
            found = lsp_startup(args.venv_python, startup_script, args.asyncsense, folder, 3)
            found["title"] = title
            startup.append(found)
            print(f"   median {found['median_s']:.3f} s, {found['server_says']}", file=sys.stderr)
    load_end = loadavg()
    finished = datetime.datetime.now(datetime.timezone.utc)

    # ---- report --------------------------------------------------------------------------------
    lines = []
    lines.append("# asyncsense benchmark results")
    lines.append("")
    lines.append(
        f"Generated by `bash tests/bench/compare.sh --runs {args.runs}` on {started:%Y-%m-%d %H:%M} UTC"
        f" ({(finished - started).total_seconds():.0f} s). Rerun it to get numbers for your machine;"
        " see tests/bench/README.md for what is measured and the caveats."
    )
    lines.append("")
    lines.append(
        f"- Machine: {info['nproc']} CPUs usable (nproc; {info['cpu_count']} online), {info['cpu']},"
        f" {info['memory_gib']:.1f} GiB RAM, {info['kernel']}"
    )
    lines.append(
        f"- Load average (1/5/15 min): {fmt_load(load_start)} at start, {fmt_load(load_corpus_after)} after the"
        f" corpus runs, {fmt_load(load_stdlib_after)} after the stdlib runs, {fmt_load(load_end)} at the end"
    )
    lines.append("- Versions: " + "; ".join(f"{name} `{value}`" for name, value in versions.items()))
    lines.append(
        f"- Corpus ({', '.join(pins)}; .py sources from the PyPI wheels, no dependencies):"
        f" {corpus_size['files']} files, {corpus_size['lines']:,} lines, {corpus_size['bytes'] / 1e6:.1f} MB"
        f" (ruff lists {ruff_seen['corpus']} files)"
    )
    lines.append(
        "  - " + "; ".join(
            f"{pin}: {size['files']} files, {size['lines']:,} lines" for pin, size in per_package.items()
        )
    )
    lines.append(
        f"- Standard library (`{args.stdlib}`, site-packages and hidden folders left out):"
        f" {stdlib_size['files']} files, {stdlib_size['lines']:,} lines, {stdlib_size['bytes'] / 1e6:.1f} MB"
        f" (ruff lists {ruff_seen['stdlib']} files)"
    )
    lines.append("")
    header = ["Job", "Tool", "Runs", "Median wall (s)", "Min wall (s)", "Median CPU user+sys (s)",
              "Peak RSS (MiB)", "Findings", "Mean 1-min load during runs"]
    lines.append(md_row(header))
    lines.append(md_row(["---"] * 2 + ["---:"] * (len(header) - 2)))
    ratios = []
    for title, jobs in (("corpus", corpus_jobs), ("stdlib", stdlib_jobs)):
        summaries = {job.key: summary(job) for job in jobs}
        for job in jobs:
            stats = summaries[job.key]
            lines.append(md_row([
                title, f"`{job.label}`", stats["runs"], f"{stats['median']:.3f}", f"{stats['min']:.3f}",
                f"{stats['cpu_median']:.3f}", f"{stats['rss_mib']:.0f}",
                "?" if job.findings is None else f"{job.findings:,}", f"{stats['load_mean']:.2f}",
            ]))
        ours, theirs = summaries[jobs[0].key], summaries[jobs[1].key]
        ratios.append((title, ours["median"] / theirs["median"], ours["min"] / theirs["min"],
                       ours["cpu_median"] / theirs["cpu_median"]))
    lines.append("")
    for title, median_ratio, min_ratio, cpu_ratio in ratios:
        lines.append(
            f"- asyncsense / `ruff --select ASYNC` on the {title}: {median_ratio:.2f}× the median wall time,"
            f" {min_ratio:.2f}× the min, {cpu_ratio:.2f}× the CPU time (below 1 means asyncsense is faster)."
        )
    lines.append("")
    lines.append(
        f"Peak RSS is that of the one child process (os.wait4); it includes an RSS floor of"
        f" {rss_floor_mib:.0f} MiB from the measuring wrapper (what `true` reports)."
        " CPU = user + system time of the child, all threads."
    )
    if lsp:
        lines.append("")
        lines.append(
            f"Editor latency (`tests/bench/lsp_latency.py`: `asyncsense server` over stdio, a generated"
            f" {lsp.get('lines', '?')}-line file with {lsp.get('diagnostics', '?')} diagnostics, one-character"
            f" edits typed one at a time over {lsp.get('servers', 1)} server processes (pooled), time from didChange"
            " to the publishDiagnostics of that version):"
        )
        lines.append("")
        lines.append(md_row(["Edits", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)", "mean (ms)",
                             "1-min load before → after"]))
        lines.append(md_row(["---:"] * 6 + ["---"]))
        lines.append(md_row([lsp["edits"], f"{lsp['p50']:.2f}", f"{lsp['p90']:.2f}", f"{lsp['p99']:.2f}",
                             f"{lsp['max']:.2f}", f"{lsp['mean']:.2f}",
                             f"{lsp['load_before'][0]:.2f} → {lsp['load_after'][0]:.2f}"]))
        if counted:
            lines.append("")
            lines.append(
                f"Work per keystroke on the same file (`tests/bench/lsp_instructions.py`, valgrind's callgrind,"
                f" {counted['edits']} edits after {counted['warm']}): {counted['per_edit'] / 1e6:.2f} M instructions."
                " Unlike the latency, this does not move with the machine's load; compare builds with it."
            )
    if startup:
        lines.append("")
        lines.append(
            "Workspace start-up (`tests/bench/lsp_startup.py`: `asyncsense server` over stdio with the folder as"
            " its workspace, time from `initialized` to the end of the indexing `$/progress`, 3 runs):"
        )
        lines.append("")
        lines.append(md_row(["Workspace", "Python lines", "Median (s)", "Min (s)", "Lines per second (median)",
                             "Server peak RSS (MiB)", "Server says"]))
        lines.append(md_row(["---", "---:", "---:", "---:", "---:", "---:", "---"]))
        for found in startup:
            rate = found["python_lines"] / found["median_s"] if found["median_s"] else 0
            rss = found["peak_rss_mib"]
            lines.append(md_row([found["title"], f"{found['python_lines']:,}", f"{found['median_s']:.3f}",
                                 f"{found['min_s']:.3f}", f"{rate:,.0f}", "?" if rss is None else f"{rss:.0f}",
                                 found["server_says"]]))
    lines.append("")
    lines.append("Commands (run from the scratch folder; stdout to /dev/null; ruff and ty exit codes ignored"
                 " via `--exit-zero`):")
    lines.append("")
    for job in corpus_jobs + stdlib_jobs:
        shown = [os.path.basename(job.argv[0])] + [
            arg.replace(scratch + "/", "") for arg in job.argv[1:]
        ]
        lines.append(f"- `{' '.join(shown)}`")
    if lsp:
        lines.append(f"- `python3 tests/bench/lsp_latency.py asyncsense --edits {args.lsp_edits}`")
        if counted:
            lines.append("- `python3 tests/bench/lsp_instructions.py asyncsense --edits 100`")
    for found in startup:
        shown = found["folder"].replace(scratch + "/", "")
        lines.append(f"- `python3 tests/bench/lsp_startup.py asyncsense {shown} --runs 3`")
    warnings = [(job.key, job.stderr_lines) for job in corpus_jobs + stdlib_jobs
                if job.stderr_lines and job.label == "asyncsense"]
    if warnings:
        lines.append("")
        lines.append("asyncsense warnings (stderr of the probe run):")
        lines.append("")
        for key, stderr_lines in warnings:
            lines.append(f"- {key}: {len(stderr_lines)} lines, e.g. `{stderr_lines[0][:200]}`")
    lines.append("")
    text = "\n".join(lines)
    update_readme(os.path.join(args.repo, "README.md"), lines)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as handle:
        handle.write(text)

    raw = {
        "started": started.isoformat(), "machine": info, "versions": versions,
        "load": {"start": load_start, "corpus_after": load_corpus_after, "stdlib_after": load_stdlib_after,
                 "end": load_end},
        "corpus": corpus_size, "stdlib": stdlib_size,
        "rss_floor_mib": rss_floor_mib,
        "jobs": {job.key: {"argv": job.argv, "findings": job.findings, "samples": job.samples,
                           "stderr": job.stderr_lines[:50]} for job in corpus_jobs + stdlib_jobs},
        "lsp": lsp,
        "startup": startup,
    }
    with open(os.path.join(scratch, "last-run.json"), "w") as handle:
        json.dump(raw, handle, indent=1)
    print(text)
    print(f">> wrote {args.out} (raw samples in {os.path.join(scratch, 'last-run.json')})", file=sys.stderr)


README_START = "<!-- benchmark results: generated by tests/bench/compare.sh -->"
README_END = "<!-- end of benchmark results -->"


def update_readme(readme, lines):
    """Replaces the README's results section (between the markers) with this run's summary: the
    machine, the table and the ratios, without the command list (that stays in RESULTS.md)."""
    try:
        with open(readme) as handle:
            current = handle.read()
    except OSError:
        return
    if README_START not in current or README_END not in current:
        print(f">> {readme} has no benchmark markers; not updated", file=sys.stderr)
        return
    summary_lines = lines[2:]
    for idx, line in enumerate(summary_lines):
        if line.startswith("Commands ("):
            summary_lines = summary_lines[:idx]
            break
    block = "\n".join([README_START, ""] + summary_lines + ["Full report: [tests/bench/RESULTS.md](tests/bench/RESULTS.md).", "", README_END])
    before, rest = current.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    with open(readme, "w") as handle:
        handle.write(before + block + after)
    print(f">> updated the results section of {readme}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("extract", help="unpack the .py sources of one package from wheels")
    ex.add_argument("--package", required=True)
    ex.add_argument("--dest", required=True)
    ex.add_argument("wheels", nargs="+")
    rn = sub.add_parser("run", help="run the benchmark (called by compare.sh from the scratch folder)")
    for name in ("asyncsense", "asyncsense-source", "ruff", "ty", "venv-python", "corpus", "pins", "stdlib",
                 "stdlib-python", "lsp-script", "repo", "out"):
        rn.add_argument(f"--{name}", required=True)
    rn.add_argument("--runs", type=int, default=5)
    rn.add_argument("--ty-runs", type=int, default=3)
    rn.add_argument("--lsp-edits", type=int, default=300)
    args = parser.parse_args()
    if args.command == "extract":
        extract(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
