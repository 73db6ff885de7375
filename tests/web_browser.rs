//! wasm tests in headless Chromium (`--test web_browser`, needs chromedriver).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;
include!("web/shared.rs");
