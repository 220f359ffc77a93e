#!/usr/bin/env bash
# Precision on real code: run `asyncsense check` over the sources of async-heavy packages from
# PyPI and print every finding, so each can be read and explained. Not part of `cargo test`.
#
# Usage: tests/precision/run.sh [scratch-dir]    (default: /tmp/asyncsense-precision)
# Downloads wheels (pure sources inside) with pip; never installs or runs them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="${1:-/tmp/asyncsense-precision}"
packages=(
    fastapi==0.165.0 starlette==1.10.0 sqlalchemy==2.1.9 httpx==0.28.1 httpcore==1.0.9
    aiohttp==3.14.5 anyio==4.16.0 litestar==2.25.0 uvicorn==0.54.0 websockets==17.4
    redis==8.1.0 asyncpg==0.32.0 aiofiles==25.1.0 trio==0.35.0
)
mkdir -p "$scratch/wheels" "$scratch/src"
python3 -m pip download --quiet --no-deps --only-binary :all: --python-version 3.11 \
    --dest "$scratch/wheels" "${packages[@]}"
if [[ -z "${ASYNCSENSE_BIN:-}" ]]; then cargo build --release --quiet --manifest-path "$here/Cargo.toml"; fi
binary="${ASYNCSENSE_BIN:-$here/target/release/asyncsense}"

total_findings=0
printf '%-28s %7s %9s %9s\n' package files lines findings
for wheel in "$scratch"/wheels/*.whl; do
    name="$(basename "$wheel" .whl | cut -d- -f1-2)"
    dir="$scratch/src/$name"
    if [[ ! -d "$dir" ]]; then
        mkdir -p "$dir"
        python3 -m zipfile -e "$wheel" "$dir"
    fi
    files=$(find "$dir" -name '*.py' | wc -l)
    lines=$(find "$dir" -name '*.py' -print0 | xargs -0 cat | wc -l)
    report="$scratch/$name.txt"
    "$binary" check "$dir" >"$report" 2>/dev/null || true
    findings=$(grep -c ': APM' "$report" || true)
    total_findings=$((total_findings + findings))
    printf '%-28s %7d %9d %9d\n' "$name" "$files" "$lines" "$findings"
done
echo
echo "findings ($total_findings):"
grep -h ': APM' "$scratch"/*.txt || true
