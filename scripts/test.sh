#!/usr/bin/env bash
# The README's test command: installs what the tests need (nothing beyond Rust today: UI tests
# run headless) and runs the whole suite. Unit, gradient-check, PyTorch-reference, property and
# CLI tests; the test profile optimises the engine so training tests take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --locked "$@"
