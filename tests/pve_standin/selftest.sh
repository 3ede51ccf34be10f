#!/usr/bin/env bash
# Smoke test of the Proxmox VE stand-in against PVE 8.4, 9.1 and 9.1.7 behaviour.
# Loopback only. Needs: python3-aiohttp python3-cryptography qemu-system-x86
# qemu-utils qemu-guest-agent (and tigervnc-standalone-server for the console part).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for v in "${@:-8.4 9.1 9.1.7}"; do
  for one in $v; do
    echo "== PVE $one"
    /usr/bin/python3 "$here/selftest.py" --pve-version "$one"
  done
done
