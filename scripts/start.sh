#!/usr/bin/env bash
# Runs the product on this host: installs what is missing, builds, then starts the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bin/berthd "$@"
