#!/usr/bin/env bash
# The benchmark run (bench/README.md): creates the bench venv, builds the
# release binaries, measures everything side by side and writes
# bench/results/{results.json,results.md,*.png}.
#
#   bash bench/run.sh                    # full sizes (about 3 min on 2 cores once the release builds are done)
#   bash bench/run.sh --sizes 1000,10000 --reps 1 --only oxbow   # arguments go to bench-all
#
# Environment: MEANDER_BENCH_VENV (default ~/.cache/meander/bench-venv),
# MEANDER_BENCH_RELEASE_TARGET (release target dir, default
# ~/.cache/meander-opt/3), CARGO_TARGET_DIR (the driver's debug build,
# default ~/.cache/meander-target), MEANDER_BENCH_OUT (default bench/results),
# MEANDER_BENCH_WORK (scratch, default $TMPDIR/meander-bench; the measured
# binaries are copied to its bin/), MEANDER_BENCH_SKIP_BUILD=1 (measure the
# binaries already there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="${MEANDER_BENCH_VENV:-$HOME/.cache/meander/bench-venv}"
release="${MEANDER_BENCH_RELEASE_TARGET:-$HOME/.cache/meander-opt/3}"
debug="${CARGO_TARGET_DIR:-$HOME/.cache/meander-target}"
out="${MEANDER_BENCH_OUT:-$root/bench/results}"
work="${MEANDER_BENCH_WORK:-${TMPDIR:-/tmp}/meander-bench}"

# 1. The bench venv (pandas, boto3, deltalake, pyarrow, moto server, matplotlib).
command -v python3 >/dev/null || { echo "python3 is needed (with venv and pip)" >&2; exit 1; }
stamp="$venv/.requirements.sha256"
want="$(sha256sum bench/requirements.txt | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "== creating the bench venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet -r bench/requirements.txt
  echo "$want" > "$stamp"
fi

# 2. Release binaries, each as its function is deployed: one cargo call per
#    feature set, never one call for all (cargo would unify the features, and
#    deltalake's datafusion, which only the MERGE functions dynamo-cdc and
#    dms-merge need, would be linked into every binary). The members of each
#    call have the same features as each built alone (checked with
#    `cargo tree -e features`), so each binary is its per-function build;
#    the calls share the target dir (a crate built with other features gets
#    another hash, so every set stays cached).
#    Each call's binaries are linked (or copied) to $work/bin right after it (with the
#    call in $work/bin/builds.txt, which results.md reports per binary), so
#    a later build in the shared target dir cannot swap them.
#    MEANDER_BENCH_SKIP_BUILD=1 skips the builds and measures the binaries
#    already in $work/bin (results.md names the build of each).
bins="$work/bin"
mkdir -p "$bins"
build() {
  local names=$1; shift
  echo "== cargo build --release $* (in $release)" >&2
  CARGO_TARGET_DIR="$release" cargo build --release "$@"
  for n in $names; do
    # A hard link (no space; cargo replaces, never rewrites, its outputs).
    ln -f "$release/release/$n" "$bins/$n" 2>/dev/null || cp "$release/release/$n" "$bins/$n"
    grep -v "^$n"$'\t' "$bins/builds.txt" 2>/dev/null > "$bins/builds.new" || true
    printf '%s\tcargo build --release %s\n' "$n" "$*" >> "$bins/builds.new"
    mv "$bins/builds.new" "$bins/builds.txt"
  done
}
if [[ "${MEANDER_BENCH_SKIP_BUILD:-}" != 1 ]]; then
  build "oxbow table-tool" --no-default-features -p oxbow -p meander-bench --bin oxbow --bin table-tool
  build "group-events sqs-ingest" -p group-events -p sqs-ingest
  build "dynamo-cdc dms-merge" -p dynamo-cdc -p dms-merge
  build glue-sync -p glue-sync
  build table-backup -p table-backup
fi

# 3. The driver (debug is enough: it only orchestrates).
echo "== driver build in $debug" >&2
CARGO_TARGET_DIR="$debug" cargo build -p meander-bench --bin bench-all

# 4. Measure.
mkdir -p "$out" "$work"
MEANDER_PYTHON="$venv/bin/python" "$debug/debug/bench-all" \
  --out "$out" --bins "$bins" --work "$work" --python "$venv/bin/python" "$@"

# 5. Tables and plots.
"$venv/bin/python" bench/py/report.py "$out"
