#!/usr/bin/env bash
# The test command of the project: formatting, lints, every binary, every test.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -- testbed      # extra arguments go to `cargo test`
#
# The end-to-end tests (tests/) need Python: this script keeps a venv at
# ${MEANDER_VENV:-$HOME/.cache/meander/venv} with the pinned packages of
# tests/py/requirements.txt (moto server, deltalake, pyarrow), installs them
# only when that file changed, and exports MEANDER_PYTHON for the tests.
# Builds go to ${CARGO_TARGET_DIR:-$HOME/.cache/meander-target}.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="${MEANDER_VENV:-$HOME/.cache/meander/venv}"
requirements="$root/tests/py/requirements.txt"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meander-target}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

# --- Python venv for moto server and the Delta reader -----------------------
python_boot="${MEANDER_BOOTSTRAP_PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    command -v "$python_boot" >/dev/null 2>&1 || die "python3 not found.
The end-to-end tests run moto server and the Python deltalake reader: install
Python 3.9 or newer with venv and pip (Debian/Ubuntu: apt-get install python3
python3-venv python3-pip), or set MEANDER_BOOTSTRAP_PYTHON to a python3."
    say "creating venv $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python_boot" -m venv "$venv" || die "cannot create a venv with $python_boot:
install the venv module (Debian/Ubuntu: apt-get install python3-venv)."
fi
py="$venv/bin/python"

stamp="$venv/.meander-requirements"
wanted="$(cat "$requirements"; "$py" --version 2>&1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    say "installing $(grep -v '^#' "$requirements" | tr '\n' ' ')into $venv"
    "$py" -m pip install --disable-pip-version-check --quiet -r "$requirements" \
        || die "pip install -r tests/py/requirements.txt failed (see above)."
    printf '%s' "$wanted" > "$stamp"
fi
"$py" -c 'import moto.server, deltalake, pyarrow' \
    || die "the venv $venv lacks moto/deltalake/pyarrow: delete it and run again."
export MEANDER_PYTHON="$py"

# --- Rust --------------------------------------------------------------------
say "cargo fmt --all --check"
cargo fmt --all --check
say "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
# The end-to-end tests run the compiled function binaries: build them first.
say "cargo build --workspace --bins"
cargo build --workspace --bins
say "cargo test --workspace $*"
log="$(mktemp)"
# The reliability tests append one JSON line of figures each (tests/src/figures.rs).
export MEANDER_FIGURES="$(mktemp)"
trap 'rm -f "$log" "$MEANDER_FIGURES"' EXIT
set +e
cargo test --workspace --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo ends on its last doc-test
# binary, often one with no tests).
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) p += $(i-1)
            if ($(i) ~ /^failed;?$/) f += $(i-1)
        }
     }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
# The reliability figures, summed over the tests that recorded them; lost
# and duplicated are what the tests counted when reading their tables back.
"$py" - "$MEANDER_FIGURES" <<'PY'
import json, sys
keys = ["runs", "faults_injected", "retries", "records_checked", "lost", "duplicated"]
total = dict.fromkeys(keys, 0)
tests = 0
for line in open(sys.argv[1]):
    if line.strip():
        figures = json.loads(line)
        tests += 1
        for k in keys:
            total[k] += int(figures.get(k, 0))
print(f"reliability: runs {total['runs']}, faults injected {total['faults_injected']}, "
      f"retries {total['retries']}, records checked {total['records_checked']}, "
      f"lost {total['lost']}, duplicated {total['duplicated']} ({tests} tests)")
PY
exit "$status"
