#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then runs unit, integration and e2e suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/run-tests.mjs "$@"
