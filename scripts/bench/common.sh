# Sourced by the scripts/bench-*.sh benchmarks: one release build, one output directory,
# and `pin` to hold a command to one core where taskset exists.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# OSECWATCH_BIN=path runs the benchmark on another build (an older one, side by side).
cargo build --release --locked -q
BIN="${OSECWATCH_BIN:-target/release/osecwatch}"
DIR="${BENCH_DIR:-target/bench}"
mkdir -p "$DIR"
pin() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }
# The default world, generated once: the input of the scan benchmarks.
CSV="$DIR/world/transactions.csv"
world() { [ -f "$CSV" ] || "$BIN" simulate --scenario default --out "$DIR/world" --quiet >/dev/null; }
