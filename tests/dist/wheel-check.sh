#!/usr/bin/env bash
# Builds the asyncsense wheel with maturin (pyproject.toml at the repo root, bindings = "bin"),
# installs it into a fresh venv and checks the installed `asyncsense` command:
#   the wheel carries LICENSE (in its .dist-info) and a binary built with the `dist` profile
#   asyncsense --version                    works
#   asyncsense check <copy of fastapi_app>  exits 1 and prints APM101
# Env: MATURIN_VERSION (default below), WHEEL_DIR (default: a temp dir; never inside the repo),
#      CARGO_TARGET_DIR (default: <repo>/target, so the release build is reused),
#      KEEP=1 keeps the temp dir.
# Needs python3 + python3-venv, cargo/rustc (1.95), network to PyPI (maturin) and crates.io.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MATURIN_VERSION=${MATURIN_VERSION:-1.9.6}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncsense-wheel.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
WHEEL_DIR=${WHEEL_DIR:-$WORK/wheels}

step "build venv with maturin $MATURIN_VERSION"
t=$(date +%s.%N)
python3 -m venv "$WORK/build-venv"
"$WORK/build-venv/bin/pip" install -q --disable-pip-version-check "maturin==$MATURIN_VERSION"
"$WORK/build-venv/bin/maturin" --version
echo "took $(elapsed "$t")"

step "maturin build --release (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
t=$(date +%s.%N)
(cd "$ROOT" && "$WORK/build-venv/bin/maturin" build --release --locked --out "$WHEEL_DIR")
wheel=$(ls "$WHEEL_DIR"/asyncsense-0.1.0-*.whl)
ls -l "$wheel"
python3 -c 'import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist(); sys.exit(0 if any(n.endswith("LICENSE") and ".dist-info/" in n for n in names) else "no LICENSE in the wheel")' "$wheel"
echo "took $(elapsed "$t")"

step "install the wheel into a fresh venv"
t=$(date +%s.%N)
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check --no-index "$wheel"
echo "took $(elapsed "$t")"

step "installed asyncsense"
t=$(date +%s.%N)
"$WORK/venv/bin/asyncsense" --version
ws="$WORK/fastapi_app"
cp -r "$ROOT/tests/fixtures/fastapi_app" "$ws"
set +e
output=$(cd "$WORK" && "$WORK/venv/bin/asyncsense" check "$ws" 2>&1)
status=$?
set -e
printf '%s\n' "$output"
if [ "$status" -ne 1 ] || ! grep -q "app/services/users.py:16:20: APM101" <<<"$output"; then
  echo "FAIL: expected the APM101 finding in app/services/users.py:16:20 and exit status 1, got status $status" >&2
  exit 1
fi
echo "took $(elapsed "$t")"

step "done"
echo "PASS: wheel $(basename "$wheel") works; total $(elapsed "$T_START")"
