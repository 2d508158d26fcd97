//! The plaintext values a render was given: every leaf ferry decrypted for it (SOPS values
//! files, SOPS manifests opened in memory, and any future input that substitutes secrets into
//! objects, such as Flux's `substituteFrom`). Two uses, one list:
//!
//! - [`Disclosed::redact`] removes them, and their encoded forms, from a tool's messages;
//! - [`Disclosed::find_leak`] finds them in an object that will be written unsealed, so that a
//!   chart copying a password into a ConfigMap is refused instead of written in clear.
//!
//! Values shorter than [`MIN_LEN`] characters are left out: they match too much by chance to be
//! told apart from ordinary text (and say little about a secret).

use base64::Engine as _;
use zeroize::Zeroizing;

/// Shorter values are neither redacted nor searched for.
pub const MIN_LEN: usize = 4;

/// How a value was found in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Plain,
    Base64,
    Hex,
    UrlEncoded,
}

impl std::fmt::Display for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Form::Plain => "in clear",
            Form::Base64 => "base64-encoded",
            Form::Hex => "hex-encoded",
            Form::UrlEncoded => "URL-encoded",
        })
    }
}

#[derive(Clone)]
struct Value {
    /// Where it came from: `file: key.path`. Never the value.
    origin: String,
    /// The value and its encodings, longest first within each value.
    forms: Vec<(Form, Zeroizing<String>)>,
}

/// Decrypted values of one render, with where each came from.
#[derive(Default, Clone)]
pub struct Disclosed {
    values: Vec<Value>,
}

/// A decrypted value found in an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The field, as a path (`data.url`, `spec.containers[0].env[1].value`).
    pub field: String,
    /// Where the value came from (`file: key.path`).
    pub origin: String,
    pub form: Form,
}

fn url_encode(s: &str, space: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn forms_of(v: &str) -> Vec<(Form, Zeroizing<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64_nopad = base64::engine::general_purpose::STANDARD_NO_PAD;
    let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forms: Vec<(Form, Zeroizing<String>)> = [
        (Form::Plain, v.to_string()),
        (Form::Base64, b64.encode(v)),
        (Form::Base64, b64_nopad.encode(v)),
        (Form::Base64, b64_url.encode(v)),
        (Form::Hex, hex::encode(v)),
        (Form::Hex, hex::encode_upper(v)),
        (Form::UrlEncoded, url_encode(v, "+")),
        (Form::UrlEncoded, url_encode(v, "%20")),
    ]
    .into_iter()
    .map(|(f, s)| (f, Zeroizing::new(s)))
    .collect();
    // Longest first, so that redaction replaces a padded form before its unpadded prefix; a
    // form equal to an earlier one (a value that encodes to itself) is kept once.
    forms.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.1.cmp(&b.1)));
    forms.dedup_by(|a, b| a.1 == b.1);
    forms
}

impl Disclosed {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds one decrypted value; `origin` says where it came from and must not hold it.
    pub fn add(&mut self, origin: String, value: &str) {
        if value.chars().count() < MIN_LEN {
            return;
        }
        self.values.push(Value {
            origin,
            forms: forms_of(value),
        });
    }

    /// Adds every string leaf of a decrypted document, each named `origin: key.path`.
    pub fn add_leaves(&mut self, origin: &str, doc: &serde_json::Value) {
        let mut leaves = Vec::new();
        // Map keys are never encrypted (sops leaves them in clear): values only.
        string_leaves(doc, String::new(), false, &mut leaves);
        for (path, s) in leaves {
            self.add(format!("{origin}: {path}"), &s);
        }
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Disclosed) {
        self.values.extend(other.values);
    }

    /// `text` with every value, in every form, replaced by `<redacted>`.
    pub fn redact(&self, text: &str) -> String {
        let mut all: Vec<&str> = self
            .values
            .iter()
            .flat_map(|v| v.forms.iter().map(|(_, s)| s.as_str()))
            .collect();
        // Longest first across values too: one value may contain another.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_string();
        for s in all {
            if out.contains(s) {
                out = out.replace(s, "<redacted>");
            }
        }
        out
    }

    /// The first string field of `obj` (a JSON object, its `sops` block and sealed `ENC[...]`
    /// values aside) that holds a value, in any form.
    pub fn find_leak(&self, obj: &serde_json::Value) -> Option<Leak> {
        if self.values.is_empty() {
            return None;
        }
        let mut leaves = Vec::new();
        string_leaves(obj, String::new(), true, &mut leaves);
        for (field, text) in leaves {
            if field == "sops" || field.starts_with("sops.") || text.starts_with("ENC[") {
                continue;
            }
            for v in &self.values {
                if let Some((form, _)) = v.forms.iter().find(|(_, s)| text.contains(s.as_str())) {
                    return Some(Leak {
                        field,
                        origin: v.origin.clone(),
                        form: *form,
                    });
                }
            }
        }
        None
    }
}

/// Every string leaf (and map key, with `keys`) with its path; numbers and booleans are not
/// secrets' text.
fn string_leaves(
    v: &serde_json::Value,
    path: String,
    keys: bool,
    out: &mut Vec<(String, Zeroizing<String>)>,
) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = join(k);
                if keys {
                    out.push((format!("{p} (the key)"), Zeroizing::new(k.clone())));
                }
                string_leaves(v, p, keys, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                string_leaves(v, format!("{path}[{i}]"), keys, out);
            }
        }
        serde_json::Value::String(s) => out.push((path, Zeroizing::new(s.clone()))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn disclosed(v: &str) -> Disclosed {
        let mut d = Disclosed::default();
        d.add("values.yaml: db.password".into(), v);
        d
    }

    #[test]
    fn redacts_every_form() {
        let d = disclosed("s3cr3t pass/word");
        let b64 = base64::engine::general_purpose::STANDARD.encode("s3cr3t pass/word");
        let msg = format!(
            "a s3cr3t pass/word b {b64} c {} d s3cr3t+pass%2Fword e s3cr3t%20pass%2Fword f {}",
            hex::encode("s3cr3t pass/word"),
            b64.trim_end_matches('=')
        );
        let out = d.redact(&msg);
        assert_eq!(
            out,
            "a <redacted> b <redacted> c <redacted> d <redacted> e <redacted> f <redacted>"
        );
    }

    #[test]
    fn finds_a_value_copied_into_an_object_and_names_the_field() {
        let d = disclosed("hunter22");
        let cm = json!({"kind": "ConfigMap", "data": {"url": "postgres://app:hunter22@db"}});
        assert_eq!(
            d.find_leak(&cm),
            Some(Leak {
                field: "data.url".into(),
                origin: "values.yaml: db.password".into(),
                form: Form::Plain
            })
        );
        let enc = base64::engine::general_purpose::STANDARD.encode("hunter22");
        let list = json!({"spec": {"env": [{"value": "x"}, {"value": enc}]}});
        assert_eq!(
            d.find_leak(&list).map(|l| (l.field, l.form)),
            Some(("spec.env[1].value".into(), Form::Base64))
        );
        let sealed =
            json!({"data": {"k": "ENC[AES256_GCM,data:hunter22]"}, "sops": {"x": "hunter22"}});
        assert_eq!(d.find_leak(&sealed), None);
        assert_eq!(disclosed("abc").find_leak(&json!({"a": "abc"})), None);
    }
}
