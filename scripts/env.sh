# Sourced by the scripts: a build directory outside the clone that persists between runs, so CI
# and later sessions reuse the RocksDB build (about 10 minutes on two cores). Works from empty.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kvitto-target}"
mkdir -p "$CARGO_TARGET_DIR"
