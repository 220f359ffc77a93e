#!/usr/bin/env bash
# Precision on real code: run `asyncsense check` (plain, and with --type-inference) over the
# sources of the async-heavy packages pinned in tests/precision/packages.txt and print every
# finding, so each can be read and explained (tests/precision/REVIEW.md). Not part of `cargo test`.
#
# Usage: tests/precision/run.sh [scratch-dir]    (default: /tmp/asyncsense-precision-sdists)
#   ASYNCSENSE_BIN=path            use this binary instead of building target/release/asyncsense
#   ASYNCSENSE_TYPES_TIMEOUT=secs  stop a package's --type-inference run after this (default 180)
# sdists.py downloads the pinned sdists from the index (sha256-checked) and unpacks them; nothing
# from a package is built, installed, imported or run. runner.py checks one package at a time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
scratch="${1:-/tmp/asyncsense-precision-sdists}"
if [[ -z "${ASYNCSENSE_BIN:-}" ]]; then cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p asyncsense; fi
binary="${ASYNCSENSE_BIN:-$here/target/release/asyncsense}"
exec python3 "$here/tests/precision/runner.py" "$binary" "$scratch" "$here/tests/precision/packages.txt"
