# JamMonitor — build, run the simulated router, test, benchmark, package.
# `make run` starts the dashboard on a simulated OMR router on this machine; `make test` runs
# everything CI runs. Both install what they need (apt, npm) when it is missing.

CARGO ?= cargo
RELEASE := target/release

.PHONY: all build deps uci webstack luci pkgtools pkg-build static-build lint i18n i18n-check unit test test-browser test-luci test-package ipk apk packages bench fuzz fuzz-smoke run stop clean

all: build

deps:
	tests/bed/install-deps.sh
	@rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

uci:
	tests/bed/build-uci.sh

# The router's web stack (ubusd, rpcd, uhttpd, libubox/libubus/libuci) from tests/vendor/openwrt.
webstack:
	tests/bed/build-webstack.sh

# Real LuCI for the test bed: the web stack with ucode, LuCI's native parts (tests/bed/build-luci.sh).
# `JM_LUCI=1 make run` serves it; `make test-luci` runs its browser test.
luci:
	WEBSTACK_UCODE=1 tests/bed/build-webstack.sh
	tests/bed/build-luci.sh

# usign, opkg and apk-tools v3 from tests/vendor/ (test tools only, never shipped).
pkgtools:
	tests/bed/build-pkgtools.sh

build: i18n
	$(CARGO) build --release --workspace

# The page's language catalogues (htdocs/i18n/<lang>.json) from po/<lang>/jammonitor.po.
i18n:
	python3 scripts/i18n.py catalogues

# Translations complete and consistent (template current, every string in 21 languages, msgfmt -c).
i18n-check: i18n
	python3 scripts/i18n.py check
	tests/i18n/selftest.sh
	node --test tests/i18n/

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --test soak -- -D warnings

# Unit and integration tests (real uci, real ip in namespaces the tests create, real SQLite).
unit: uci webstack
	$(CARGO) test --workspace
	tests/bed/selftest.sh
	tests/rig/selftest.sh

test-browser: build
	tests/browser/run.sh

# Our view inside real LuCI (tests/browser/luci/: login, Status → JamMonitor, four themes, LuCI's
# own catalogue), on its own server (serve.sh --luci).
test-luci: luci build
	JM_LUCI=1 tests/browser/run.sh luci/

# luci first: the one web stack build then has ucode (a later `webstack` keeps it)
test: deps uci luci webstack lint i18n-check unit fuzz-smoke test-package test-browser test-luci

# Kill tests at soak strength: every write action SIGKILLed at random points JM_KILL_RUNS times
# (default 100; `make test` runs 6 each). Storage runs on loop devices, under the machine's lock.
JM_KILL_RUNS ?= 100
# schemathesis examples per operation and phase in `make soak` (`make test`: 6, tests/api_schemathesis.rs)
JM_SOAK_SCHEMATHESIS_EXAMPLES ?= 60
soak: deps uci webstack build
	JM_KILL_RUNS=$(JM_KILL_RUNS) $(CARGO) test --test crash_kill -- --nocapture
	JM_KILL_RUNS=$(JM_KILL_RUNS) flock /tmp/jm-loop.lock $(CARGO) test --test storage_usb finding_1_kill -- --nocapture
	JM_SCHEMATHESIS_EXAMPLES=$(JM_SOAK_SCHEMATHESIS_EXAMPLES) $(CARGO) test --test api_schemathesis -- --nocapture
	# fault runs (tests/soak/): WAN flapping, clock jumps, DB fill; then three browser tabs on the rig.
	# Durations: JM_SOAK_FLAP_SECS (600), JM_SOAK_CLOCK_PHASE_SECS (90), JM_SOAK_FILL_DAYS (90), JM_SOAK_TABS_SECS (1800)
	$(CARGO) test --test soak -- --nocapture --test-threads 1
	JM_COLLECTOR_INTERVAL=$${JM_COLLECTOR_INTERVAL:-60} flock -o /tmp/jm-rig.lock tests/browser/run.sh ../soak/tabs.test.mjs

# The release binary for packages: its own target dir, build paths remapped (none inside).
PKG_TARGET := build/pkg-target
pkg-build:
	CARGO_TARGET_DIR=$(PKG_TARGET) RUSTFLAGS="--remap-path-prefix=$(CURDIR)=/jammonitor --remap-path-prefix=$${CARGO_HOME:-$$HOME/.cargo}=/cargo" \
		$(CARGO) build --release --workspace

# The multi-call binary linked static, as the router's package links it (the SDK Makefile adds
# +crt-static): what `make bench` serves through uhttpd for the per-request budget. Against
# glibc here, whose static libc adds ~0.47 MB to the package (musl's: a fraction), so the
# packages built on this machine (and their size budget) keep the dynamic pkg-build. A static
# build needs an explicit --target (host proc-macros stay dynamic).
STATIC_TARGET := build/static-target
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
STATIC_BINARY := $(STATIC_TARGET)/$(HOST_TRIPLE)/release/jammonitor-collector
static-build:
	CARGO_TARGET_DIR=$(STATIC_TARGET) RUSTFLAGS="-C target-feature=+crt-static" \
		$(CARGO) build --release -p jammonitor-collector --target $(HOST_TRIPLE)

# jammonitor, luci-app-jammonitor, luci-i18n-jammonitor-<lang> for this machine's architecture
# into dist/ (OpenWrt SDK feed: luci/openwrt/, docs/packaging.md).
ipk: pkgtools pkg-build i18n
	scripts/mkpkg.sh --format ipk --binary $(PKG_TARGET)/release/jammonitor-collector

apk: pkgtools pkg-build i18n
	scripts/mkpkg.sh --format apk --binary $(PKG_TARGET)/release/jammonitor-collector

packages: pkgtools pkg-build i18n
	scripts/mkpkg.sh --format all --binary $(PKG_TARGET)/release/jammonitor-collector

test-package: deps uci pkgtools pkg-build i18n
	tests/package_test.sh

FUZZ_SECS ?= 60

# Fuzz every parser (cargo-fuzz on stable via RUSTC_BOOTSTRAP; installs cargo-fuzz if missing).
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECS)

fuzz-smoke:
	tests/fuzz/run.sh 10

bench: deps uci webstack build static-build
	JM_BENCH_SHIPPED_CGI=$(STATIC_BINARY) benches/run.sh

run: deps uci webstack build
	scripts/run.sh $(RUN_ARGS)

stop:
	scripts/stop.sh

clean:
	-scripts/stop.sh
	$(CARGO) clean
	rm -rf build .run dist tests/fuzz/target tests/fuzz/artifacts
