#!/usr/bin/env bash
# The UI benchmark: `scripts/bench-ui.sh [FILE] [--seconds S] [--rounds N] [--json]`.
#
# Trains projects/cifar_shapes.ron (or FILE) alternately headless and in the app's window, and
# prints training images/s with and without the window and the window's frame times. Runs under
# a virtual X server (xvfb-run, OpenGL through Mesa's llvmpipe) unless a display is set and
# BENCH_UI_USE_DISPLAY=1. On Debian/Ubuntu it installs the X server and the OpenGL, EGL,
# xkbcommon and D-Bus runtime libraries if they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    xvfb xauth
    libgl1 libglx-mesa0 libgl1-mesa-dri libegl1
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxrandr2 libxi6
    libdbus-1-3
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for package in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
fi

if ((${#missing[@]} > 0)); then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        echo "Installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
        echo "Installing (sudo): ${missing[*]}"
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "Note: these packages seem to be missing: ${missing[*]}" >&2
    fi
fi

cargo build --release --locked --bin cnn-lab
binary="${CARGO_TARGET_DIR:-target}/release/cnn-lab"

# The window as a first-time user sees it: not with this machine's saved panel sizes.
data_home=$(mktemp -d)
trap 'rm -rf "$data_home"' EXIT
if [[ "${BENCH_UI_USE_DISPLAY:-0}" == 1 && -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    XDG_DATA_HOME="$data_home" "$binary" bench-ui "$@"
else
    XDG_DATA_HOME="$data_home" xvfb-run -a -s "-screen 0 1600x1000x24" "$binary" bench-ui "$@"
fi
