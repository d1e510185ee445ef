#!/usr/bin/env bash
# Installs what Berth needs on Debian 12 (as root): apt packages when missing, npm packages, then builds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(docker-registry busybox-static nftables iproute2 zstd apache2-utils gcc make libc6-dev tmux util-linux chromium chromium-driver qemu-system-x86 qemu-utils squashfs-tools binutils gcc-aarch64-linux-gnu libc6-dev-arm64-cross etcd-server etcd-client python3-kubernetes docker-compose skopeo)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the registry (:5000) and etcd (:2379) as services on install; Berth's tests start their own instances.
for svc in docker-registry etcd; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

export ELECTRON_SKIP_BINARY_DOWNLOAD=1
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build
