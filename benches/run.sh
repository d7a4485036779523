#!/bin/sh
# `make bench`: every benchmark, each printing its figures as ratios against a baseline measured
# in the same run. Needs root (network namespaces).
#   cgi_overview: overview through the real uhttpd vs a do-nothing CGI (ratio), its child processes (0),
#                 and one CGI run vs the exec floor and the predecessor's shell pipelines
#   collector:    CPU/RSS per sample vs vnStat's daemon, DB size after 30 days, history queries
#   diag_overview: overview latency while diagnostic bundles are built vs idle (ratio)
#   cgi_clients:  `clients` with 250 clients / 20,000 conntrack entries vs the predecessor's commands
#   cgi_metrics:  `metrics` (scrape token, session) and overview through the real uhttpd vs a do-nothing CGI (ratios), children (0)
set -eu
cd "$(dirname "$0")/.."
cargo bench --bench cgi_overview
cargo bench --bench diag_overview
cargo bench --bench cgi_clients
cargo bench --bench cgi_metrics
cargo bench -p jammonitor-collector --bench collector
