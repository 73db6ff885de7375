//! Resuming a multipart upload after a page reload: the saved state
//! ([`crate::transfer::resume`], where the verdict on it is made) kept in a
//! caller-supplied store (`{ get, set, delete }`, each may return a promise;
//! the package offers one over IndexedDB) under a key made of the file's
//! name, size and modification time. A fingerprint reaches the store before
//! its part is sent.

use std::cell::RefCell;

use futures_util::lock::Mutex;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

use super::field::{get, hex, set, text, unhex};
use crate::object::Randomness;

pub use crate::transfer::resume::{STATE_VERSION, Saved};

/// The state as JSON text (the host's storage form of [`Saved`]).
fn to_json(s: &Saved) -> Option<String> {
    let o = Object::new();
    set(&o, "v", STATE_VERSION);
    set(&o, "object", s.object.as_str());
    set(&o, "random", hex(&s.random.to_bytes()));
    set(&o, "commitment", s.commitment.as_str());
    set(&o, "uploadId", s.upload_id.as_str());
    set(&o, "partSize", s.part_size as f64);
    let pairs = |list: &[(u16, String)]| {
        let a = Array::new();
        for (n, value) in list {
            a.push(&Array::of2(&(*n).into(), &value.as_str().into()));
        }
        a
    };
    set(&o, "sealed", pairs(&s.sealed));
    set(&o, "parts", pairs(&s.parts));
    js_sys::JSON::stringify(&o).ok()?.as_string()
}

/// Inverse of [`to_json`]; `None` for anything else.
fn from_json(text_: &str) -> Option<Saved> {
    let v = js_sys::JSON::parse(text_).ok()?;
    if get(&v, "v").as_f64() != Some(f64::from(STATE_VERSION)) {
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
    let part_size = get(&v, "partSize").as_f64()?;
    Some(Saved {
        object: text(&v, "object")?,
        random: Randomness::from_bytes(&unhex(&text(&v, "random")?)?).ok()?,
        commitment: text(&v, "commitment")?,
        upload_id: text(&v, "uploadId")?,
        part_size: (part_size >= 0.0 && part_size.fract() == 0.0).then_some(part_size as u64)?,
        sealed: pairs("sealed")?,
        parts: pairs("parts")?,
    })
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
        from_json(&self.call("get", None).await.ok()?.as_string()?)
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
        let json = to_json(&self.saved.borrow());
        if let Some(json) = json {
            store.call("set", Some(&json)).await?;
        }
        Ok(())
    }

    /// Records that part `n` was sealed with `fingerprint`; returns once the
    /// store has it (an upload must not send a part it could not record).
    pub async fn sealed(&self, n: u16, fingerprint: String) -> Result<(), JsValue> {
        if !self.saved.borrow_mut().record_sealed(n, fingerprint) {
            return Ok(());
        }
        self.write().await
    }

    /// Records S3's ETag for part `n`.
    pub async fn finished(&self, n: u16, etag: String) {
        self.saved.borrow_mut().record_finished(n, etag);
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
