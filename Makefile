# s3seal — every target installs what it needs (scripts/setup.sh and
# scripts/tools.sh are idempotent; heavy tools are cached outside the tree).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
TOOLS := source scripts/tools.sh &&

.PHONY: mutants help setup test lint test-native test-fuzz test-wasm-build test-interop test-wasm test-pkg test-s3 test-e2e test-browsers pkg bench fuzz demo demo-cli vectors clean

# Variables that make a suite run only some of its tests (or rewrite the
# vectors it checks) are for development: `make test` never inherits them,
# so "all green" means every test ran against the checked-in vectors.
unexport S3SEAL_E2E_ONLY S3SEAL_ENGINES WASM_BINDGEN_TEST_ONLY_NODE WASM_BINDGEN_TEST_ONLY_WEB S3SEAL_WRITE_VECTORS

help:
	@echo "make demo    the upload page on a local Garage S3: open the printed URL (Ctrl-C stops)"
	@echo "make demo-form the same page as an upload form sealed to a public key (identity in .demo/)"
	@echo "make demo-cli  seal, inspect and open a file with the CLI"
	@echo "make test    everything: lints, native/property/vector/CLI tests, Tink interop, wasm tests"
	@echo "             in Node, Chromium and Firefox, the npm package in a browser and in a Vite+TS app,"
	@echo "             serve against Garage, and the page end to end in Chromium, Firefox and WebKit"
	@echo "make pkg     build the npm package into pkg/"
	@echo "make fuzz    coverage-guided fuzzing of the parsers and openers (FUZZ_SECONDS per target)"
	@echo "make bench   native and browser throughput, upload time vs plain S3, memory, wasm size,"
	@echo "             upload time where a shaped link binds (100 and 250 Mbit/s, needs root and tc),"
	@echo "             streamed saves, seeks and a 5 GiB round trip in the page,"
	@echo "             serve under load -> bench/results.*"
	@echo "make mutants mutation testing of the format core (slow; MUTANTS_FILES narrows it)"

setup:
	@scripts/setup.sh

test: setup lint test-native test-fuzz test-wasm-build test-interop test-wasm test-pkg test-s3 test-e2e test-browsers
	@echo "make test: all green"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-features --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --target wasm32-unknown-unknown -- -D warnings

test-native:
	$(CARGO) test --all-features

# Every fuzz target over its committed corpus, once (make fuzz explores).
test-fuzz:
	scripts/fuzz.sh replay

# The format core builds for the browser with no I/O and no CLI code.
test-wasm-build:
	$(CARGO) build --lib --target wasm32-unknown-unknown --profile wasm

test-interop:
	$(CARGO) build --features cli
	S3SEAL_BIN=$(CURDIR)/target/debug/s3seal python3 -m unittest discover -s tests/interop -p 'test_tink.py' -v

# The JS boundary over the checked-in vectors, in Node, headless Chromium and
# headless Firefox ESR: the open machine's steps as they cross, run on the
# wasm cipher (the package's engines that run them are tested by test-pkg). The runner's default budget for a
# whole browser suite is 20 s; these run Argon2id over the vectors: allow 300. The runner takes the first driver it finds on PATH, so
# each run names its driver. count-tests.sh fails a run whose suites ran
# nothing (a runner exits 0 then).
test-wasm:
	$(TOOLS) CHROMEDRIVER=$$(command -v chromedriver) WASM_BINDGEN_TEST_TIMEOUT=300 scripts/count-tests.sh 2 -- $(CARGO) test --target wasm32-unknown-unknown --test web_node --test web_browser
	$(TOOLS) GECKODRIVER=$$(command -v geckodriver) WASM_BINDGEN_TEST_WEBDRIVER_JSON=$(CURDIR)/tests/web/webdriver-firefox.json WASM_BINDGEN_TEST_TIMEOUT=300 scripts/count-tests.sh 1 -- $(CARGO) test --target wasm32-unknown-unknown --test web_browser

# The built package: in a plain module page (with CLI interop and the
# Worker), then packed and installed into a Vite + TypeScript app and a
# webpack 5 app, each built and run in Chromium.
test-pkg: pkg
	$(CARGO) build --features cli
	$(TOOLS) S3SEAL_BIN=$(CURDIR)/target/debug/s3seal node tests/e2e/pkg_browser.mjs
	$(TOOLS) node tests/npm-consumer/run.mjs
	$(TOOLS) node tests/webpack-consumer/run.mjs

# s3seal serve against a real S3 (local Garage on 127.0.0.1), boto3 as the
# independent client and presigner, sharing state with two serve replicas;
# then the example presign backends held to the same rules.
test-s3: pkg
	$(CARGO) build --features cli
	S3SEAL_BIN=$(CURDIR)/target/debug/s3seal scripts/with-garage.sh python3 -m unittest -v tests/interop/test_s3.py tests/interop/test_share.py
	$(TOOLS) scripts/with-garage.sh node tests/e2e/examples.mjs

# The product in headless Chromium: the host page, s3seal serve and Garage on
# 127.0.0.1 — single PUT, multipart, share links, wrong passphrase, injected
# 503s, abort.
test-e2e: pkg
	$(CARGO) build --features cli
	$(TOOLS) S3SEAL_BIN=$(CURDIR)/target/debug/s3seal scripts/with-garage.sh node tests/e2e/upload.mjs
	$(TOOLS) S3SEAL_BIN=$(CURDIR)/target/debug/s3seal scripts/with-garage.sh node tests/e2e/node_consumer.mjs
	$(TOOLS) S3SEAL_BIN=$(CURDIR)/target/debug/s3seal scripts/with-garage.sh node tests/e2e/uppy.mjs

# The page in Firefox ESR and WebKitGTK through W3C WebDriver (Playwright
# brings Chromium only here): upload, share link, open, inert types.
test-browsers: pkg
	$(CARGO) build --features cli
	$(TOOLS) S3SEAL_BIN=$(CURDIR)/target/debug/s3seal scripts/with-garage.sh node tests/e2e/browsers.mjs

pkg:
	scripts/build-pkg.sh

vectors:
	S3SEAL_WRITE_VECTORS=1 $(CARGO) test --test vectors

# Coverage-guided fuzzing (cargo-fuzz, nightly): every target for
# FUZZ_SECONDS each. Crashes land in fuzz/artifacts/; make each a test.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh run $(FUZZ_SECONDS)

# Native core and CLI, then the browser side by side against the local Garage,
# then serve's presign latency, idle and under 500 slow-loris connections.
bench: pkg
	scripts/setup.sh bench
	python3 bench/native.py
	$(TOOLS) scripts/with-garage.sh node bench/browser.mjs
	$(TOOLS) scripts/with-garage.sh node bench/link.mjs
	$(CARGO) build --release --features cli
	$(TOOLS) scripts/with-garage.sh node bench/stream.mjs
	scripts/with-garage.sh python3 bench/presign.py

# Mutation testing of the core (cargo-mutants; not part of make test: about
# half a minute per mutant). MUTANTS_FILES narrows it to some files.
MUTANTS_FILES ?=
mutants:
	scripts/mutants.sh $(MUTANTS_FILES)

demo: setup pkg
	scripts/demo.sh

demo-form: setup pkg
	scripts/demo.sh form

demo-cli: setup
	scripts/demo-cli.sh

clean:
	$(CARGO) clean
