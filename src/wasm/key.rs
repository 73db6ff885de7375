//! `Key`: a root key, a file key (share) or a passphrase, held in wasm memory
//! and zeroized when freed.

use wasm_bindgen::prelude::*;

use super::error::{JsResult, js, with_code};
use crate::key::{ObjectId, RootKey, Secret};

/// A secret that opens objects: `Key.generate()`, `Key.fromText(…)` or
/// `Key.fromPassphrase(…)`. Call `free()` when done to wipe it.
#[wasm_bindgen]
pub struct Key {
    pub(crate) secret: Secret,
}

#[wasm_bindgen]
impl Key {
    /// A new random root key.
    pub fn generate() -> JsResult<Key> {
        Ok(Key {
            secret: Secret::Root(js(RootKey::generate())?),
        })
    }

    /// Parses `s3seal-root-…` (root key) or `s3seal-file-…` (one object's key).
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> JsResult<Key> {
        Ok(Key {
            secret: js(Secret::from_key_text(text))?,
        })
    }

    /// A passphrase; each object's key is derived with Argon2id (slow, by design).
    #[wasm_bindgen(js_name = fromPassphrase)]
    pub fn from_passphrase(passphrase: &str) -> JsResult<Key> {
        if passphrase.is_empty() {
            return Err(with_code(
                "InvalidKey",
                "invalid key: the passphrase is empty",
            ));
        }
        Ok(Key {
            secret: Secret::passphrase(passphrase),
        })
    }

    /// `"root"`, `"file"` or `"passphrase"`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        match self.secret {
            Secret::Root(_) => "root",
            Secret::File(_) => "file",
            Secret::Passphrase(_) => "passphrase",
        }
        .into()
    }

    /// The text form (`s3seal-root-…` / `s3seal-file-…`). A passphrase has none.
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> JsResult<String> {
        match &self.secret {
            Secret::Root(k) => Ok(k.to_text().to_string()),
            Secret::File(k) => Ok(k.to_text().to_string()),
            Secret::Passphrase(_) => Err(with_code(
                "InvalidKey",
                "invalid key: a passphrase has no text form",
            )),
        }
    }

    /// The key of one object (what a share link carries), from its name or id.
    #[wasm_bindgen(js_name = fileKey)]
    pub fn file_key(&self, object_name: &str) -> JsResult<Key> {
        let id = js(ObjectId::from_object_name(object_name))?;
        Ok(Key {
            secret: Secret::File(js(self.secret.file_key(&id))?),
        })
    }

    /// The SSE-C headers of one object, from its name or id.
    #[wasm_bindgen(js_name = sseCHeaders)]
    pub fn sse_c_headers(&self, object_name: &str) -> JsResult<js_sys::Object> {
        let id = js(ObjectId::from_object_name(object_name))?;
        let key = js(self.secret.file_key(&id))?.sse_c_key();
        Ok(super::sse::headers_object(&crate::sse::sse_c(&key)))
    }
}
