#!/usr/bin/env bash
# Measure the release profile's opt-level: size of the deployable oxbow
# binary (and its zip) and instructions (valgrind callgrind: repeatable on a
# shared, noisy machine) of one in-process oxbow invocation over 200 files.
# Slow: one full fat-LTO release build per level. Writes
# bench/results/opt-level.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/results/opt-level.md"
work="${TMPDIR:-/tmp}/meander-opt-level"
mkdir -p "$work"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
rows=""
for lvl in 3 s z; do
  target="${MEANDER_OPT_TARGET:-$HOME/.cache/meander-opt}/$lvl"
  CARGO_TARGET_DIR="$target" CARGO_PROFILE_RELEASE_OPT_LEVEL=$lvl \
    cargo build --release -p oxbow -p meander-bench --manifest-path "$root/Cargo.toml"
  size=$(stat -c %s "$target/release/oxbow")
  zip=$(python3 -c "import io,zipfile,sys;b=io.BytesIO();z=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED);z.write(sys.argv[1],'bootstrap');z.close();print(len(b.getvalue()))" "$target/release/oxbow")
  "$target/release/oxbow-workload" "$work/data" 200 2000 >/dev/null
  ir=$(valgrind --tool=callgrind --callgrind-out-file="$work/cg.$lvl" "$target/release/oxbow-workload" "$work/data" 200 2000 2>&1 | sed -n 's/.*Collected : //p')
  rows+="| $lvl | $size | $zip | $ir |"$'\n'
done
{
  echo "# Release opt-level: oxbow size and instructions"
  echo
  echo "| opt-level | binary bytes | zip bytes | instructions (200-file batch) |"
  echo "|---|---|---|---|"
  printf '%s' "$rows"
} > "$out"
cat "$out"
