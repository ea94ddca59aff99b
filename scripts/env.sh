# Sourced by the scripts: a build directory outside the clone that persists between runs, so CI
# and later sessions reuse the RocksDB build (about 10 minutes on two cores). Works from empty.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kvitto-target}"
# Incremental compilation data grows by gigabytes per checkout path and buys little on a clean
# clone; the shared directory must not fill the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
mkdir -p "$CARGO_TARGET_DIR"
# Test binaries and executables nobody rebuilt for two days are stale (old commits, other clones).
find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -executable -mtime +1 -delete 2>/dev/null || true
rm -rf "$CARGO_TARGET_DIR/debug/incremental"
