#!/usr/bin/env bash
# The case store's benchmark (issue 14): import 100,000 alerts into cases, list and filter
# among them (p99), draft an STR of 200 payments; on SQLite and on the local PostgreSQL, one
# after the other in one run, so the two are compared on the same machine state.
#   scripts/bench-cases.sh [ALERTS]          OSECWATCH_BIN=path runs another build
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
bin="${OSECWATCH_BIN:-target/release/osecwatch}"
if [ -z "${OSECWATCH_BIN:-}" ]; then
  cargo build --release --locked -q
fi
scripts/services.sh
pg="${OSECWATCH_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
"$bin" cases bench --alerts "$n"
"$bin" cases bench --alerts "$n" --db "$pg"
