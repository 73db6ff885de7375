//! What the user holds to open (or seal) objects, and what each kind of
//! secret derives for one object.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::key::{
    DeleteToken, FILE_KEY_PREFIX, FileKey, ObjectId, ROOT_KEY_PREFIX, RootKey, argon2id,
};
use crate::name::ObjectName;
use crate::recipient::Identity;
use crate::signature::{SIGNING_SALT_SIZE, SigningKey};

/// What the user holds to open an object.
#[derive(Clone)]
pub enum Secret {
    /// A root key: opens every object sealed with it.
    Root(RootKey),
    /// A passphrase: derives each object's root with Argon2id.
    Passphrase(Zeroizing<String>),
    /// The file key of one object (a share link).
    File(FileKey),
    /// A recipient's private key: opens every object sealed to it.
    Identity(Identity),
}

impl Secret {
    /// The file key of the object with this name. For a passphrase this runs
    /// Argon2id (deliberately slow). Only what the name says is used: this is
    /// what a reader can do before the first request.
    pub fn file_key(&self, name: &ObjectName) -> Result<FileKey> {
        let object_id = &name.id;
        match (self, &name.encapsulated) {
            (Secret::Root(_) | Secret::Passphrase(_), None) => {
                Ok(self.root_key(object_id)?.file_key(object_id))
            }
            (Secret::File(file), _) => Ok(file.clone()),
            (Secret::Identity(identity), Some(enc)) => identity.decapsulate(object_id, enc),
            (Secret::Identity(_), None) => Err(Error::KeySource(
                "this object was sealed with a key or passphrase, not to a recipient",
            )),
            (Secret::Root(_) | Secret::Passphrase(_), Some(_)) => Err(Error::KeySource(
                "this object was sealed to a recipient: open it with the identity",
            )),
        }
    }

    /// The root of one keyed object: the root key itself, or Argon2id of the
    /// passphrase salted with the object id. What an owner derives the file
    /// key and the [`DeleteToken`] from.
    pub fn root_key(&self, object_id: &ObjectId) -> Result<RootKey> {
        match self {
            Secret::Root(root) => Ok(root.clone()),
            Secret::Passphrase(pass) => RootKey::from_passphrase(pass.as_bytes(), object_id),
            Secret::File(_) => Err(Error::KeySource(
                "a file key (a share link) reads one object; the owner's root key or passphrase is needed",
            )),
            Secret::Identity(_) => Err(Error::KeySource(
                "an identity opens objects sealed to it; it does not own them",
            )),
        }
    }

    /// The owner's token that deletes the share of `name` (a keyed object).
    pub fn delete_token(&self, name: &ObjectName) -> Result<DeleteToken> {
        if name.encapsulated.is_some() {
            return Err(Error::KeySource(
                "an object sealed to a recipient has no owner's delete token",
            ));
        }
        Ok(self.root_key(&name.id)?.delete_token(&name.id))
    }

    /// The key that signs a new object sealed with this secret, from the
    /// object's random signing salt. A passphrase runs Argon2id salted with
    /// it (the object id, the other salt, is not known yet: it is derived
    /// from this key). Only a root key or passphrase seals.
    pub fn signing_key(&self, salt: &[u8; SIGNING_SALT_SIZE]) -> Result<SigningKey> {
        match self {
            Secret::Root(root) => Ok(SigningKey::derive(root.as_bytes(), salt)),
            Secret::Passphrase(pass) => {
                let stretched = argon2id(pass.as_bytes(), salt)?;
                Ok(SigningKey::derive(&stretched, salt))
            }
            Secret::File(_) => Err(Error::InvalidInput(
                "seal with a root key or a passphrase, not a file key",
            )),
            Secret::Identity(_) => Err(Error::InvalidInput(
                "seal to the identity's recipient (public key), not with the identity",
            )),
        }
    }

    /// A passphrase secret; an empty one is refused.
    pub fn passphrase(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Err(Error::InvalidKey("the passphrase is empty"));
        }
        Ok(Secret::Passphrase(Zeroizing::new(text.to_owned())))
    }

    /// What kind of secret it is: `"root"`, `"file"`, `"passphrase"` or
    /// `"identity"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Secret::Root(_) => "root",
            Secret::File(_) => "file",
            Secret::Passphrase(_) => "passphrase",
            Secret::Identity(_) => "identity",
        }
    }

    /// The key's text form (`s3seal-root-…`, `s3seal-file-…`,
    /// `S3SEAL-SECRET-KEY-1…`); a passphrase has none to give.
    pub fn to_text(&self) -> Result<Zeroizing<String>> {
        match self {
            Secret::Root(k) => Ok(k.to_text()),
            Secret::File(k) => Ok(k.to_text()),
            Secret::Identity(k) => Ok(k.to_text()),
            Secret::Passphrase(_) => Err(Error::InvalidKey("a passphrase has no text form")),
        }
    }

    /// Parses a key in text form: a root key, a file key or an identity, told
    /// apart by prefix.
    pub fn from_key_text(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with(ROOT_KEY_PREFIX) {
            RootKey::from_text(text).map(Secret::Root)
        } else if text.starts_with(FILE_KEY_PREFIX) {
            FileKey::from_text(text).map(Secret::File)
        } else if crate::recipient::has_prefix(text, crate::recipient::IDENTITY_PREFIX) {
            Identity::from_text(text).map(Secret::Identity)
        } else {
            Err(Error::InvalidKey(
                "expected a key starting with \"s3seal-root-\", \"s3seal-file-\" or \"S3SEAL-SECRET-KEY-1\"",
            ))
        }
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Secret::Root(_) => "Secret::Root(<redacted>)",
            Secret::Passphrase(_) => "Secret::Passphrase(<redacted>)",
            Secret::File(_) => "Secret::File(<redacted>)",
            Secret::Identity(_) => "Secret::Identity(<redacted>)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_text_is_told_apart_by_prefix() {
        assert!(matches!(
            Secret::from_key_text("hello"),
            Err(Error::InvalidKey(_))
        ));
        let root = RootKey::from_bytes([7; 32]);
        assert!(matches!(Secret::from_key_text(&root.to_text()), Ok(Secret::Root(r)) if r == root));
        let file = FileKey::from_bytes([8; 32]);
        assert!(matches!(Secret::from_key_text(&file.to_text()), Ok(Secret::File(f)) if f == file));
        let shown = format!(
            "{:?} {:?} {:?}",
            Secret::Root(root),
            Secret::File(file),
            Secret::passphrase("hunter2").unwrap()
        );
        assert_eq!(
            shown,
            "Secret::Root(<redacted>) Secret::File(<redacted>) Secret::Passphrase(<redacted>)"
        );
        assert_eq!(
            Secret::passphrase("").err(),
            Some(Error::InvalidKey("the passphrase is empty"))
        );
        let (root, file) = (RootKey::from_bytes([7; 32]), FileKey::from_bytes([8; 32]));
        assert_eq!(
            Secret::Root(root.clone()).to_text().unwrap(),
            root.to_text()
        );
        assert!(Secret::passphrase("x").unwrap().to_text().is_err());
        let kinds = [
            Secret::Root(root),
            Secret::File(file),
            Secret::passphrase("x").unwrap(),
        ];
        assert_eq!(kinds.map(|s| s.kind()), ["root", "file", "passphrase"]);
    }
}
