//! `Key`: a root key, a file key (share), a passphrase or an identity, held
//! in wasm memory and zeroized when freed; `Recipient`: a public key to seal to.

use wasm_bindgen::prelude::*;

use super::error::{JsResult, js};
use crate::key::RootKey;
use crate::{ObjectName, Secret};

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

    /// Parses `s3seal-root-…` (root key), `s3seal-file-…` (one object's key)
    /// or `S3SEAL-SECRET-KEY-1…` (an identity, for recipient-mode objects).
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> JsResult<Key> {
        Ok(Key {
            secret: js(Secret::from_key_text(text))?,
        })
    }

    /// A passphrase; each object's key is derived with Argon2id (slow, by design).
    #[wasm_bindgen(js_name = fromPassphrase)]
    pub fn from_passphrase(passphrase: &str) -> JsResult<Key> {
        Ok(Key {
            secret: js(Secret::passphrase(passphrase))?,
        })
    }

    /// `"root"`, `"file"`, `"passphrase"` or `"identity"`.
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        self.secret.kind().into()
    }

    /// The text form (`s3seal-root-…` / `s3seal-file-…`). A passphrase has none.
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> JsResult<String> {
        Ok(js(self.secret.to_text())?.to_string())
    }

    /// The key of one object (what a share link carries), from its name or id.
    #[wasm_bindgen(js_name = fileKey)]
    pub fn file_key(&self, object_name: &str) -> JsResult<Key> {
        let name = js(ObjectName::parse(object_name))?;
        Ok(Key {
            secret: Secret::File(js(self.secret.file_key(&name))?),
        })
    }

    /// The SSE-C headers of one object, from its name or id.
    #[wasm_bindgen(js_name = sseCHeaders)]
    pub fn sse_c_headers(&self, object_name: &str) -> JsResult<js_sys::Object> {
        let name = js(ObjectName::parse(object_name))?;
        let key = js(self.secret.file_key(&name))?.sse_c_key();
        Ok(super::sse::headers_object(&crate::sse::sse_c(&key)))
    }
}

impl Key {
    /// A sealer's own key to hand out (a share link's).
    pub(crate) fn share_of(sealer: &crate::object::Sealer) -> JsResult<Key> {
        Ok(Key {
            secret: Secret::File(js(sealer.share_key())?.clone()),
        })
    }
}

/// An organisation's public key (`s3seal1…`): objects sealed to it open only
/// with the matching identity, so the uploader keeps no key.
#[wasm_bindgen]
pub struct Recipient {
    pub(crate) inner: crate::recipient::Recipient,
}

#[wasm_bindgen]
impl Recipient {
    /// Parses `s3seal1…`; a mistyped key fails its checksum (`InvalidKey`).
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(text: &str) -> JsResult<Recipient> {
        Ok(Recipient {
            inner: js(crate::recipient::Recipient::from_text(text))?,
        })
    }

    /// The text form, `s3seal1…`.
    #[wasm_bindgen(js_name = toText)]
    pub fn to_text(&self) -> String {
        self.inner.to_text()
    }
}
