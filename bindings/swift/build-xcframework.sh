#!/usr/bin/env bash
# Builds ParklineFFI.xcframework (device, simulator and macOS slices) from the Rust core. Run on macOS
# with Xcode and the Rust targets: rustup target add aarch64-apple-ios aarch64-apple-ios-sim aarch64-apple-darwin
set -euo pipefail
cd "$(dirname "$0")/../.."
targets=(aarch64-apple-ios aarch64-apple-ios-sim aarch64-apple-darwin)
for t in "${targets[@]}"; do cargo build --release -p parkline-ffi --target "$t"; done
headers="$(mktemp -d)"
cp bindings/swift/Sources/Parkline/parkline_ffiFFI.h "$headers/"
cp bindings/swift/Sources/Parkline/parkline_ffiFFI.modulemap "$headers/module.modulemap"
rm -rf bindings/swift/ParklineFFI.xcframework
args=()
for t in "${targets[@]}"; do args+=(-library "target/$t/release/libparkline_ffi.a" -headers "$headers"); done
xcodebuild -create-xcframework "${args[@]}" -output bindings/swift/ParklineFFI.xcframework
echo "built bindings/swift/ParklineFFI.xcframework"
