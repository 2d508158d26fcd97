//! The in-memory decryptors of `ferry apply` and `ferry diff`: sealed objects are opened with
//! the age identities at hand and never written anywhere.

use super::build::open_value;
use super::identity::Identities;
use super::SecretsError;
use crate::apply::source::Decryptor;
use crate::diff::{DecryptError, SecretDecryptor};
use crate::manifest::Object;
use serde_json::Value;

/// Opens SOPS-sealed objects with a set of identities.
pub struct InMemory {
    ids: Identities,
}

impl InMemory {
    pub fn new(ids: Identities) -> InMemory {
        InMemory { ids }
    }

    /// The identities of `--identity FILE`, or where sops users keep them.
    ///
    /// # Errors
    /// A named identity source that cannot be read.
    pub fn load(explicit: Option<&std::path::Path>) -> Result<InMemory, SecretsError> {
        Identities::load(explicit).map(InMemory::new)
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// `Kind/namespace/name` of a raw object, for messages.
fn describe(v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("?");
    match v.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) => format!("{}/{ns}/{}", s("/kind"), s("/metadata/name")),
        None => format!("{}/{}", s("/kind"), s("/metadata/name")),
    }
}

impl Decryptor for InMemory {
    fn decrypt(&self, object: &Object) -> Result<Object, String> {
        let open = open_value(object.value(), &self.ids, &describe(object.value()))
            .map_err(|e| e.to_string())?;
        Object::from_value(open).map_err(|e| e.to_string())
    }
}

impl SecretDecryptor for InMemory {
    fn decrypt(&self, object: &Value) -> Result<Option<Value>, DecryptError> {
        match open_value(object, &self.ids, &describe(object)) {
            Ok(v) => Ok(Some(v)),
            // Not ours to open: the diff says it cannot tell instead of failing.
            Err(SecretsError::NoIdentity { .. }) => Ok(None),
            Err(e) => Err(DecryptError {
                message: e.to_string(),
            }),
        }
    }
}

/// Parses age identities read from a tenant's decryption Secret, for `ferry apply` and the
/// agent ([`crate::apply::TenantKeys`]).
pub struct AgeIdentityParser;

impl crate::apply::IdentityParser for AgeIdentityParser {
    fn decryptor(&self, text: &str, origin: &str) -> Result<Box<dyn Decryptor>, String> {
        Identities::from_text(text, origin)
            .map(|ids| Box::new(InMemory::new(ids)) as Box<dyn Decryptor>)
            .map_err(|e| e.to_string())
    }
}
