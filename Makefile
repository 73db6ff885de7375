# s3seal — every target installs what it needs (scripts/setup.sh is idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo

.PHONY: help setup test test-native test-wasm-build test-interop lint bench demo vectors clean

help:
	@echo "make demo    seal, inspect and open a file with the CLI (the browser page arrives with the upload work)"
	@echo "make test    everything: unit, property, vector, CLI, Tink interop tests; wasm32 build; lints"
	@echo "make bench   native throughput (256 MiB) and peak RSS of seal/open on 2 GiB -> bench/results.*"

setup:
	@scripts/setup.sh

test: setup lint test-native test-wasm-build test-interop
	@echo "make test: all green"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-features --all-targets -- -D warnings

test-native:
	$(CARGO) test --all-features

# The format core builds for the browser with no I/O and no CLI code.
test-wasm-build:
	$(CARGO) build --lib --target wasm32-unknown-unknown --release

test-interop:
	$(CARGO) build --features cli
	S3SEAL_BIN=$(CURDIR)/target/debug/s3seal python3 -m unittest discover -s tests/interop -v

vectors:
	S3SEAL_WRITE_VECTORS=1 $(CARGO) test --test vectors

bench:
	scripts/setup.sh bench
	python3 bench/native.py

demo: setup
	scripts/demo-cli.sh

clean:
	$(CARGO) clean
