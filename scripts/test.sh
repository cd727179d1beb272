#!/usr/bin/env bash
# The whole test suite, from a fresh machine: starts the services tests may need, then
# runs every test of the workspace. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
# The ISO 20022 validating-mode tests run xmllint (Debian libxml2-utils).
if ! command -v xmllint >/dev/null; then
  echo "test: installing libxml2-utils for xmllint" >&2
  if ! apt-get install -y -q libxml2-utils >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libxml2-utils >/dev/null
  fi
fi
# The workbench's browser tests drive Debian's Chromium through chromedriver; without them
# the tests fail loudly (OSECWATCH_REQUIRE_BROWSER), never pass by skipping.
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  echo "test: installing chromium and chromium-driver for the workbench's browser tests" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null
  fi
fi
export OSECWATCH_REQUIRE_BROWSER=1
cargo test --workspace --locked "$@"
