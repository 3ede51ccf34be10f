#!/usr/bin/env bash
# The main job on the embedded default: build mOSdat and run it against the shipped
# local example (no VM needed). Assumes deploy/install-deps.sh has run.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MOSDAT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "${MOSDAT_JOBS:-2}" --target mosdat
"$build_dir/cli/mosdat" preflight --config examples/local-gtk3.toml --test widget-factory
"$build_dir/cli/mosdat" functional --config examples/local-gtk3.toml --test widget-factory
