#!/usr/bin/env bash
# Runs the product: installs what is missing and builds, then `berth up`: the desktop app where it can open a
# window, else the engine on this host plus the dashboard in a browser (it prints the URL and the docker
# command). Arguments pass through: npm start -- --insecure-registry 10.0.2.2:5000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec bin/berth up "$@"
