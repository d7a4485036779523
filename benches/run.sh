#!/bin/sh
# `make bench`: every benchmark, each printing its figures as ratios against a baseline measured
# in the same run. Needs root (network namespaces).
set -eu
cd "$(dirname "$0")/.."
cargo bench --bench cgi_overview
for b in benches/*.rs; do
    name=$(basename "$b" .rs)
    [ "$name" = cgi_overview ] || cargo bench --bench "$name"
done
