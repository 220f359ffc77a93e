#!/usr/bin/env bash
# Benchmark asyncsense against ruff (ASYNC rules and all rules) and ty on a pinned corpus of
# real async libraries from PyPI, plus the local CPython standard library and the editor
# benchmarks (edit latency, workspace start-up). Writes a Markdown table (default
# tests/bench/RESULTS.md).
#
#   bash tests/bench/compare.sh [--runs N] [--ty-runs M] [--lsp-edits K] [--binary PATH] [--out FILE]
#
# The scratch folder (venv, wheels, corpus, a copy of the binary) lives outside the repository:
# ${ASYNCSENSE_BENCH_DIR:-$HOME/.cache/asyncsense-bench}. It is reused when already populated;
# delete it to start over. Only PyPI is contacted (override the index with
# ASYNCSENSE_BENCH_INDEX_URL if you must use a mirror of it).
set -euo pipefail

# ---- pins -------------------------------------------------------------------------------------
CORPUS_PINS=(sqlalchemy==2.1.9 pydantic==2.14.4 fastapi==0.165.0 httpx==0.28.1 starlette==1.10.0)
RUFF_PIN=ruff==0.17.6
TY_PIN=ty==0.0.107

# ---- arguments --------------------------------------------------------------------------------
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RUNS=5
TY_RUNS=3
LSP_EDITS=300
BINARY=""
OUT="$HERE/RESULTS.md"

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "compare.sh: error: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) RUNS="${2:?--runs needs a number}"; shift 2 ;;
        --ty-runs) TY_RUNS="${2:?--ty-runs needs a number}"; shift 2 ;;
        --lsp-edits) LSP_EDITS="${2:?--lsp-edits needs a number}"; shift 2 ;;
        --binary) BINARY="${2:?--binary needs a path}"; shift 2 ;;
        --out) OUT="${2:?--out needs a file}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$RUNS'"
[[ "$TY_RUNS" =~ ^[0-9]+$ ]] || die "--ty-runs must be a non-negative integer, got '$TY_RUNS'"
[[ "$LSP_EDITS" =~ ^[0-9]+$ ]] || die "--lsp-edits must be a non-negative integer, got '$LSP_EDITS'"
# --out is resolved against the caller's folder.
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac

SCRATCH="${ASYNCSENSE_BENCH_DIR:-$HOME/.cache/asyncsense-bench}"
INDEX_URL="${ASYNCSENSE_BENCH_INDEX_URL:-https://pypi.org/simple}"
case "$SCRATCH" in
    "$REPO"|"$REPO"/*) die "the scratch folder must be outside the repository: $SCRATCH" ;;
esac

# ---- tools ------------------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 not found on PATH"

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $*"
    fi
}

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    command -v apt-get >/dev/null || die "python3 cannot create virtual environments (no venv/ensurepip) and apt-get is not available: install the venv module for $(command -v python3)"
    echo ">> python3 has no venv/ensurepip module: installing python3-venv with apt-get (this changes the system)" >&2
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv
    python3 -c 'import venv, ensurepip' 2>/dev/null || die "python3-venv installed but $(command -v python3) still cannot create a venv (a python3 outside the system packages?)"
fi

# The asyncsense binary: the given one, else target/release/asyncsense (built when missing).
if [[ -z "$BINARY" ]]; then
    BINARY="$REPO/target/release/asyncsense"
    if [[ ! -x "$BINARY" ]]; then
        command -v cargo >/dev/null || die "$BINARY does not exist and cargo is not on PATH to build it"
        echo ">> building asyncsense (cargo build --release --locked)" >&2
        (cd "$REPO" && cargo build --release --locked)
    fi
fi
[[ -x "$BINARY" ]] || die "asyncsense binary not found or not executable: $BINARY"

mkdir -p "$SCRATCH/bin" "$SCRATCH/wheels"
# Run a private copy, so a concurrent `cargo build` cannot swap the binary mid-benchmark.
cp -f "$BINARY" "$SCRATCH/bin/asyncsense.tmp"
mv -f "$SCRATCH/bin/asyncsense.tmp" "$SCRATCH/bin/asyncsense"
ASYNCSENSE="$SCRATCH/bin/asyncsense"
"$ASYNCSENSE" --version >/dev/null || die "the asyncsense binary does not run: $BINARY"

# ---- virtual environment with the pinned tools -------------------------------------------------
VENV="$SCRATCH/venv"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo ">> creating the virtual environment $VENV" >&2
    python3 -m venv "$VENV"
fi
# PyPI only: ignore find-links / extra indexes from the environment or pip configuration.
pip_pypi() {
    env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_NO_INDEX \
        PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$VENV/bin/python" -m pip "$@" --index-url "$INDEX_URL"
}

installed_version() {
    "$VENV/bin/python" -c 'import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass' "$1"
}

ensure_tool() {
    local pin="$1" name="${1%%==*}" want="${1##*==}"
    if [[ "$(installed_version "$name")" != "$want" ]]; then
        echo ">> installing $pin into the venv" >&2
        if ! pip_pypi install --quiet --no-deps --only-binary=:all: "$pin"; then
            die "cannot install $pin from $INDEX_URL (is that exact version on the index for this platform?). Not trying another version."
        fi
    fi
    [[ "$(installed_version "$name")" == "$want" ]] || die "$name in the venv is not version $want"
}
ensure_tool "$RUFF_PIN"
ensure_tool "$TY_PIN"
[[ -x "$VENV/bin/ruff" ]] || die "ruff missing from $VENV/bin"
[[ -x "$VENV/bin/ty" ]] || die "ty missing from $VENV/bin"

# ---- corpus ------------------------------------------------------------------------------------
CORPUS="$SCRATCH/corpus"
STAMP="$SCRATCH/corpus.stamp"
WANT_STAMP="$(printf '%s\n' "${CORPUS_PINS[@]}")"
if [[ -d "$CORPUS" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" ]]; then
    echo ">> reusing the corpus in $CORPUS" >&2
else
    echo ">> fetching the corpus from $INDEX_URL: ${CORPUS_PINS[*]}" >&2
    rm -rf "$CORPUS" "$STAMP" "$SCRATCH/wheels"
    mkdir -p "$SCRATCH/wheels"
    for pin in "${CORPUS_PINS[@]}"; do
        # One wheel per pin, without its dependencies; the .py sources are the same in every
        # platform wheel, so the one for this interpreter is fine.
        if ! pip_pypi download --quiet --no-deps --only-binary=:all: --dest "$SCRATCH/wheels/${pin%%==*}" "$pin"; then
            die "cannot download $pin from $INDEX_URL (is that exact version on the index?). Not trying another version."
        fi
    done
    mkdir -p "$CORPUS.partial"
    rm -rf "$CORPUS.partial"/*
    for pin in "${CORPUS_PINS[@]}"; do
        "$VENV/bin/python" "$HERE/compare.py" extract --package "${pin%%==*}" --dest "$CORPUS.partial" \
            "$SCRATCH/wheels/${pin%%==*}"/*.whl
    done
    mv "$CORPUS.partial" "$CORPUS"
    printf '%s\n' "$WANT_STAMP" >"$STAMP"
fi

# ---- run ---------------------------------------------------------------------------------------
STDLIB="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
[[ -d "$STDLIB" ]] || die "standard library folder not found: $STDLIB"
LSP_SCRIPT="$HERE/lsp_latency.py"
[[ -f "$LSP_SCRIPT" ]] || die "missing $LSP_SCRIPT"

# The benchmark runs in the scratch folder, so no configuration of the repository applies.
cd "$SCRATCH"
exec "$VENV/bin/python" "$HERE/compare.py" run \
    --asyncsense "$ASYNCSENSE" \
    --asyncsense-source "$BINARY" \
    --ruff "$VENV/bin/ruff" \
    --ty "$VENV/bin/ty" \
    --venv-python "$VENV/bin/python" \
    --corpus "$CORPUS" \
    --pins "${CORPUS_PINS[*]}" \
    --stdlib "$STDLIB" \
    --stdlib-python "$(command -v python3)" \
    --lsp-script "$LSP_SCRIPT" \
    --lsp-edits "$LSP_EDITS" \
    --runs "$RUNS" \
    --ty-runs "$TY_RUNS" \
    --repo "$REPO" \
    --out "$OUT"
