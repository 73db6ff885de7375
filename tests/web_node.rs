//! wasm tests in Node (`cargo test --target wasm32-unknown-unknown --test web_node`).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

mod common;
include!("web/shared.rs");
