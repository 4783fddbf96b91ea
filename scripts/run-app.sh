#!/usr/bin/env bash
# Runs the CNN Lab desktop app: `scripts/run-app.sh [FILE] [--screenshot OUT.png ...]`.
#
# The app needs no -dev packages to build, but at run time it loads OpenGL, EGL, xkbcommon and
# D-Bus. On Debian/Ubuntu this installs whichever of them are missing, once, when it can
# (as root, or with sudo); otherwise it says what to install and tries anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_packages=(
    libgl1 libglx-mesa0 libgl1-mesa-dri libegl1
    libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxrandr2 libxi6
    libwayland-client0 libwayland-egl1 libdbus-1-3
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for package in "${runtime_packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
fi

if ((${#missing[@]} > 0)); then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        echo "Installing the app's runtime libraries: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
        echo "Installing the app's runtime libraries (sudo): ${missing[*]}"
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "Note: these runtime libraries seem to be missing: ${missing[*]}" >&2
        echo "      install them with your package manager if the window does not open." >&2
    fi
fi

if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
    echo "Note: no display (DISPLAY / WAYLAND_DISPLAY unset). On a headless machine use" >&2
    echo "      xvfb-run -a -s '-screen 0 1600x1000x24' scripts/run-app.sh --screenshot shot.png" >&2
fi

exec cargo run --release -- "$@"
