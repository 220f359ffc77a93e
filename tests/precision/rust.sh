#!/usr/bin/env bash
# Precision of the Rust rules on real code: run `asyncsense check` over the crate sources that
# cargo already unpacked in ~/.cargo/registry/src/*/ and print every finding (so each can be read
# and classified), with the number of crates, bytes, findings and the elapsed time.
# Not part of `cargo test`; nothing is downloaded, built from the crates or run from them.
#
# Usage: tests/precision/rust.sh [registry-src-dir...]
#   ASYNCSENSE_BIN=path  use this binary instead of building target/release/asyncsense
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ $# -gt 0 ]]; then
    registries=("$@")
else
    registries=("${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/)
fi
if [[ -n "${ASYNCSENSE_BIN:-}" ]]; then
    binary="$ASYNCSENSE_BIN"
else
    cargo build --release --quiet --manifest-path "$here/Cargo.toml" -p asyncsense
    binary="$here/target/release/asyncsense"
fi

crates=()
for registry in "${registries[@]}"; do
    for dir in "$registry"/*/; do
        [[ -f "$dir/Cargo.toml" ]] && crates+=("${dir%/}")
    done
done
if [[ ${#crates[@]} -eq 0 ]]; then
    echo "no crate sources under ${registries[*]}" >&2
    exit 2
fi
files=$(find "${crates[@]}" -name '*.rs' -not -path '*/target/*' | wc -l)
bytes=$(find "${crates[@]}" -name '*.rs' -not -path '*/target/*' -print0 | xargs -0 cat | wc -c)

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
start=$(date +%s.%N)
# Only the APM4xx rules: the crates may ship Python files too, which are not the subject here.
"$binary" check --exit-zero --output-format concise --select APM401,APM402,APM403,APM404,APM405,APM406 \
    "${crates[@]}" >"$report" 2>/dev/null
end=$(date +%s.%N)

grep ': APM' "$report" || true
findings=$(grep -c ': APM' "$report" || true)
echo
printf 'crates %d, .rs files %d, bytes %d, findings %d, time %.2fs\n' \
    "${#crates[@]}" "$files" "$bytes" "$findings" "$(echo "$end - $start" | bc)"
