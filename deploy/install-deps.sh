#!/usr/bin/env bash
# Installs everything mOSdat needs to build, test and run its local desktop target,
# from Debian 12 packages only. Idempotent; run as root.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libvncserver-dev libssh-dev libssl-dev libyaml-cpp-dev libtomlplusplus-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libtesseract-dev libleptonica-dev libsqlite3-dev libcurl4-openssl-dev
  libboost-dev
  # artifact checks (core/elf_inspect, core/artifact_files): ELF symbols, .deb and tarballs
  libelf-dev libarchive-dev
  # mosdat live: the authoring API's HTTP server (live/)
  libcpp-httplib-dev
)

# The local desktop target (see DESIGN.md: "The local target").
desktop_packages=(
  tigervnc-standalone-server openbox at-spi2-core python3-gi gir1.2-atspi-2.0
  python3-pyatspi dbus-x11 xdotool x11-utils gtk-3-examples gtk-4-examples
  gnome-calculator mousepad tesseract-ocr tesseract-ocr-eng openssh-server gir1.2-gtk-3.0
  tigervnc-tools
  prometheus
  # tests/deploy/ (dashboard and alert checks) and tests/python/ (a gRPC client in Python)
  python3-yaml python3-grpcio python3-protobuf
  # the Proxmox VE stand-in the bridge is tested against (tests/pve_standin/)
  python3-aiohttp python3-cryptography qemu-system-x86 qemu-utils qemu-guest-agent
  websockify
  # tests/integration/netns_fixture: several hosts as network namespaces (ip netns)
  iproute2
  # smoke tests: a real Wayland socket (headless weston), backtraces from cores (gdb),
  # and the GTK3 fixture app the tests build (tests/data/apps/smoke_fixture.c)
  weston gdb libgtk-3-dev
  # the deploy phase: its sudo paths, tested with a user of their own (passwordless or
  # not), and pacman (Arch packages), which Debian ships
  sudo pacman-package-manager zstd
  # browser tests (tests/browser/): Debian's chromium, driven headless by playwright-core
  chromium
  # session recordings (--record): the agent encodes WebM with ffmpeg; tests decode with ffprobe
  ffmpeg
)

missing=()
for p in "${build_packages[@]}" "${desktop_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js and npm for the test tools from npm, each folder pinned by its package-lock.json:
# tests/browser (playwright-core, driving Debian's chromium) and tests/mcp (the official
# MCP SDK's clients). Debian's Node.js when the machine has none.
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm
fi
for npm_dir in tests/browser tests/mcp; do
  npm_dir="$(cd "$(dirname "$0")/../$npm_dir" && pwd)"
  # Installed again only when the lock file changed since the last install.
  stamp="$npm_dir/node_modules/.mosdat-lock.sha256"
  wanted="$(sha256sum "$npm_dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$wanted" != "$(cat "$stamp" 2>/dev/null || true)" ]; then
    npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
    echo "$wanted" > "$stamp"
  fi
done
