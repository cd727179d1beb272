#!/usr/bin/env bash
# The whole test suite, from a fresh machine: starts the services tests may need, then
# runs every test of the workspace. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo test --workspace --locked "$@"
