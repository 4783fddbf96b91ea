#!/usr/bin/env bash
# Regenerates src/interop/onnx_proto.rs from scripts/onnx/onnx.proto3 (the published ONNX
# schema). Needs `protoc` (Debian: protobuf-compiler); run by hand, never by the build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
mkdir -p "$work/src" "$work/out"
cp scripts/onnx/onnx.proto3 "$work/"
cat > "$work/Cargo.toml" <<'TOML'
[package]
name = "protogen"
version = "0.1.0"
edition = "2021"
[dependencies]
prost-build = "0.14"
TOML
cat > "$work/src/main.rs" <<'RS'
fn main() {
    let mut c = prost_build::Config::new();
    c.out_dir("out");
    c.compile_protos(&["onnx.proto3"], &["."]).expect("protoc runs");
}
RS
(cd "$work" && cargo run -q)
{
  echo '//! The ONNX protobuf messages (`onnx.proto3`, IR version 8), generated once by `prost-build`'
  echo '//! 0.14 from the published `onnx/onnx.proto3` with doc comments removed; regenerate with'
  echo '//! `scripts/gen_onnx_proto.sh`. Never edited by hand.'
  echo '#![allow(clippy::all, clippy::pedantic, missing_docs)]'
  echo
  grep -v '^\s*///' "$work/out/onnx.rs"
} > src/interop/onnx_proto.rs
rm -rf "$work"
