//! Resuming a multipart upload after a page reload.
//!
//! The state lives in a caller-supplied store (`{ get, set, delete }`, each
//! may return a promise; the package offers one over IndexedDB) under a key
//! made of the file's name, size and modification time. It holds no secret:
//! the object's random choices and key commitment (both in the object
//! anyway), the upload id, each finished part's ETag, and for every part that
//! was ever sealed a *fingerprint*: SHA-256 over the GCM tags of its segments
//! (also in the object).
//!
//! Why fingerprints: resuming reuses the object's nonces, so sealing
//! different plaintext for a part S3 (or anyone on the way) already saw would
//! break AES-GCM. A fingerprint is written *before* its part is sent; on
//! resume every fingerprinted part is sealed again locally and compared, and
//! any difference means the file changed: the old upload is aborted and the
//! file is sealed afresh under new randomness. Unchanged parts also prove the
//! finished parts on S3 still match the file.

use std::cell::RefCell;

use futures_util::lock::Mutex;
use js_sys::{Array, Function, Object, Promise, Reflect};
use sha2::{Digest, Sha256};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::field::{get, hex, set, text, unhex};
use crate::object::Randomness;

/// Version of the saved state's layout.
const STATE_VERSION: f64 = 3.0;

/// SHA-256 over the tags of a part's segments, in order.
pub fn fingerprint<'a>(tags: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash = Sha256::new();
    for tag in tags {
        hash.update(tag);
    }
    hex(&hash.finalize())
}

/// One multipart upload's state.
#[derive(Clone, Debug)]
pub struct Saved {
    pub object: String,
    pub random: Randomness,
    /// Hex key commitment: the same key must resume.
    pub commitment: String,
    pub upload_id: String,
    pub part_size: f64,
    /// Fingerprints of every part sealed so far (sent or not).
    pub sealed: Vec<(u16, String)>,
    /// ETags of the parts S3 confirmed.
    pub parts: Vec<(u16, String)>,
}

impl Saved {
    fn to_json(&self) -> Option<String> {
        let o = Object::new();
        set(&o, "v", STATE_VERSION);
        set(&o, "object", self.object.as_str());
        set(&o, "random", hex(&self.random.to_bytes()));
        set(&o, "commitment", self.commitment.as_str());
        set(&o, "uploadId", self.upload_id.as_str());
        set(&o, "partSize", self.part_size);
        let pairs = |list: &[(u16, String)]| {
            let a = Array::new();
            for (n, value) in list {
                a.push(&Array::of2(&(*n).into(), &value.as_str().into()));
            }
            a
        };
        set(&o, "sealed", pairs(&self.sealed));
        set(&o, "parts", pairs(&self.parts));
        js_sys::JSON::stringify(&o).ok()?.as_string()
    }

    fn from_json(text_: &str) -> Option<Self> {
        let v = js_sys::JSON::parse(text_).ok()?;
        if get(&v, "v").as_f64() != Some(STATE_VERSION) {
            return None;
        }
        let pairs = |field: &str| -> Option<Vec<(u16, String)>> {
            Array::from(&get(&v, field))
                .iter()
                .map(|p| {
                    let p = Array::from(&p);
                    Some((
                        u16::try_from(p.get(0).as_f64()? as u64).ok()?,
                        p.get(1).as_string()?,
                    ))
                })
                .collect()
        };
        Some(Saved {
            object: text(&v, "object")?,
            random: Randomness::from_bytes(&unhex(&text(&v, "random")?)?).ok()?,
            commitment: text(&v, "commitment")?,
            upload_id: text(&v, "uploadId")?,
            part_size: get(&v, "partSize").as_f64()?,
            sealed: pairs("sealed")?,
            parts: pairs("parts")?,
        })
    }
}

/// The caller's store and this file's key in it.
pub struct Store {
    store: Object,
    id: String,
}

impl Store {
    /// The store from `options.resumeStore`, if any.
    pub fn from_options(options: &JsValue, file: &Blob) -> Option<Self> {
        let store = get(options, "resumeStore");
        if store.is_undefined() || store.is_null() {
            return None;
        }
        // Same name, size and date only make a candidate; fingerprints and
        // the key commitment decide.
        let id = format!(
            "s3seal-upload:{}:{}:{}",
            text(file, "name").unwrap_or_default(),
            file.size() as u64,
            // Whole milliseconds; formatted as an integer (no float formatting in the module).
            get(file, "lastModified").as_f64().unwrap_or(0.0) as u64
        );
        Some(Self {
            store: store.unchecked_into(),
            id,
        })
    }

    async fn call(&self, method: &str, value: Option<&str>) -> Result<JsValue, JsValue> {
        let f: Function = Reflect::get(&self.store, &method.into())?.dyn_into()?;
        let out = match value {
            Some(v) => f.call2(&self.store, &self.id.as_str().into(), &v.into())?,
            None => f.call1(&self.store, &self.id.as_str().into())?,
        };
        JsFuture::from(Promise::resolve(&out)).await
    }

    /// The saved state, if there is a readable one.
    pub async fn load(&self) -> Option<Saved> {
        Saved::from_json(&self.call("get", None).await.ok()?.as_string()?)
    }

    /// Forgets this file's state (done, or not resumable).
    pub async fn forget(&self) {
        let _ = self.call("delete", None).await;
    }
}

/// The upload's state in memory, written through to the store (if any) in
/// order: a fingerprint reaches the store before its part is sent.
pub struct Tracker {
    store: Option<Store>,
    saved: RefCell<Saved>,
    // Serialises writes so an older snapshot never lands after a newer one.
    writing: Mutex<()>,
}

impl Tracker {
    pub fn new(store: Option<Store>, saved: Saved) -> Self {
        Self {
            store,
            saved: RefCell::new(saved),
            writing: Mutex::new(()),
        }
    }

    pub fn resumable(&self) -> bool {
        self.store.is_some()
    }

    async fn write(&self) -> Result<(), JsValue> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let _guard = self.writing.lock().await;
        // Snapshot under the lock: the newest state wins.
        let json = self.saved.borrow().to_json();
        if let Some(json) = json {
            store.call("set", Some(&json)).await?;
        }
        Ok(())
    }

    /// Records that part `n` was sealed with `fingerprint`; returns once the
    /// store has it (an upload must not send a part it could not record).
    pub async fn sealed(&self, n: u16, fingerprint: String) -> Result<(), JsValue> {
        {
            let mut s = self.saved.borrow_mut();
            if s.sealed.iter().any(|(m, fp)| *m == n && *fp == fingerprint) {
                return Ok(());
            }
            s.sealed.retain(|(m, _)| *m != n);
            s.sealed.push((n, fingerprint));
        }
        self.write().await
    }

    /// Records S3's ETag for part `n`.
    pub async fn finished(&self, n: u16, etag: String) {
        {
            let mut s = self.saved.borrow_mut();
            s.parts.retain(|(m, _)| *m != n);
            s.parts.push((n, etag));
        }
        // Losing this write costs only a re-sent part.
        let _ = self.write().await;
    }

    pub async fn forget(&self) {
        if let Some(store) = &self.store {
            let _guard = self.writing.lock().await;
            store.forget().await;
        }
    }
}
