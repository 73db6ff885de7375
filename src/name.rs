//! An object's name: what a reader knows before the first request.

use crate::error::Result;
use crate::key::{OBJECT_NAME_SUFFIX, ObjectId, from_hex, hex};
use crate::recipient::EncapsulatedKey;

/// What an object's name tells a reader before the first request: its id
/// and, for an object sealed to a recipient, HPKE's encapsulated key. Both are
/// public; with the reader's secret they give the SSE-C key.
///
/// Written `<id hex>.s3seal` or `<id hex>.<encapsulated key hex>.s3seal`
/// (lower case), after any prefix of the caller's choosing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ObjectName {
    /// The object id.
    pub id: ObjectId,
    /// The encapsulated key of a recipient-mode object.
    pub encapsulated: Option<EncapsulatedKey>,
}

impl ObjectName {
    /// The name of an object sealed with a root key or passphrase.
    pub fn keyed(id: ObjectId) -> Self {
        Self {
            id,
            encapsulated: None,
        }
    }

    /// Parses an object name or key such as `uploads/0123…cdef.s3seal`: the
    /// last path component, suffix optional.
    pub fn parse(name: &str) -> Result<Self> {
        const WHAT: &str = "an object name is <32 hex digits>[.<64 hex digits>].s3seal";
        let last = name.rsplit('/').next().unwrap_or(name);
        let stem = last.strip_suffix(OBJECT_NAME_SUFFIX).unwrap_or(last);
        match stem.split_once('.') {
            None => Ok(Self::keyed(ObjectId(from_hex(stem, WHAT)?))),
            Some((id, enc)) => Ok(Self {
                id: ObjectId(from_hex(id, WHAT)?),
                encapsulated: Some(EncapsulatedKey(from_hex(enc, WHAT)?)),
            }),
        }
    }
}

impl core::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.id.to_hex())?;
        if let Some(enc) = &self.encapsulated {
            write!(f, ".{}", hex(&enc.0))?;
        }
        f.write_str(OBJECT_NAME_SUFFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn object_names_round_trip() {
        let name = ObjectName::keyed(ObjectId([0x01; 16]));
        assert_eq!(name.to_string(), "01010101010101010101010101010101.s3seal");
        assert_eq!(
            ObjectName::parse("up/loads/01010101010101010101010101010101.s3seal").unwrap(),
            name
        );
        let sealed_to = ObjectName {
            id: ObjectId([0xab; 16]),
            encapsulated: Some(EncapsulatedKey([0xcd; 32])),
        };
        let text = sealed_to.to_string();
        assert_eq!(
            text,
            format!("{}.{}.s3seal", "ab".repeat(16), "cd".repeat(32))
        );
        assert_eq!(
            ObjectName::parse(&format!("forms/{text}")).unwrap(),
            sealed_to
        );
        for bad in [
            "nothex",
            "0101010101010101010101010101010.s3seal",
            "01010101010101010101010101010101.cdcd.s3seal",
            "ABABABABABABABABABABABABABABABAB.s3seal",
            "01010101010101010101010101010101..s3seal",
        ] {
            assert!(
                matches!(ObjectName::parse(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
