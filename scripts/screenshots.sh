#!/usr/bin/env bash
# Regenerates the README's pictures of the course's mechanics with the app's own `--screenshot`
# (under xvfb-run when there is no display): the convolution close-up on volume_conv.ron, the
# padding and stride playground (on a Conv2D and, dilated, on a Conv1D), the shift test with both
# MNIST models and with both signals models, and a comparison of two runs; and the 1-D views:
# the filters and feature maps of signals_conv1d.ron and the feature maps of text_conv1d.ron,
# trained in the window first. `scripts/screenshots.sh [--release]`;
# needs xvfb-run without a display.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
bin=target/debug/cnn-lab
if [[ "${1:-}" == "--release" ]]; then
    profile=(--release)
    bin=target/release/cnn-lab
fi
cargo build --locked "${profile[@]}"

out=assets/screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A fresh home: the pictures show what a first-time user sees, whatever this machine remembers.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
mkdir -p "$HOME"

shot() {
    if [[ -n "${DISPLAY:-}" ]]; then
        "$bin" "$@"
    else
        xvfb-run -a -s "-screen 0 1440x900x24" "$bin" "$@"
    fi
}

# The dense model trained for 5 epochs, beside the bundled pretrained LeNet; both signals models
# with their own settings.
"$bin" train projects/mnist_dense.ron --epochs 5 --fresh --out "$work/mnist_dense.ron" >/dev/null
"$bin" train projects/signals_conv1d.ron --fresh --out "$work/signals_conv1d.ron" >/dev/null
"$bin" train projects/signals_dense.ron --fresh --out "$work/signals_dense.ron" >/dev/null
# The first Conv1D with dilation 2, for the playground.
sed 's/Conv1D(filters: 16, kernel_size: 9, padding: same/Conv1D(filters: 16, kernel_size: 9, dilation_rate: 2, padding: same/' \
    projects/signals_conv1d.ron >"$work/signals_dilated.ron"

shot projects/volume_conv.ron --view closeup --screenshot "$out/closeup_volume_conv.png"
shot projects/seed_quiz.ron --view playground --screenshot "$out/playground_seed_quiz.png"
shot projects/pretrained/mnist_lenet.ron --view shift-test --compare "$work/mnist_dense.ron" \
    --screenshot "$out/shift_test_mnist.png"
shot projects/pretrained/mnist_lenet.ron --view compare --compare "$work/mnist_dense.ron" \
    --screenshot "$out/compare_mnist.png"
shot "$work/signals_dilated.ron" --view playground --screenshot "$out/playground_signals_conv1d.png"
shot "$work/signals_conv1d.ron" --view shift-test --compare "$work/signals_dense.ron" \
    --screenshot "$out/shift_test_signals.png"
shot projects/signals_conv1d.ron --after-epochs 12 --view filters --screenshot "$out/filters_signals_conv1d.png"
shot projects/signals_conv1d.ron --after-epochs 12 --view feature-maps --screenshot "$out/features_signals_conv1d.png"
shot projects/text_conv1d.ron --after-epochs 15 --view feature-maps --screenshot "$out/features_text_conv1d.png"
echo "wrote $out/closeup_volume_conv.png, playground_seed_quiz.png, shift_test_mnist.png, compare_mnist.png,"
echo "      playground_signals_conv1d.png, shift_test_signals.png,"
echo "      filters_signals_conv1d.png, features_signals_conv1d.png, features_text_conv1d.png"
