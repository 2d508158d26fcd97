//! One value, sealed with AES-256-GCM the way sops writes it:
//! `ENC[AES256_GCM,data:<b64>,iv:<b64 32 bytes>,tag:<b64 16 bytes>,type:<type>]`.

use super::tree::{Comment, Value};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// sops uses 32-byte nonces with GCM (Go's `NewGCMWithNonceSize(32)`).
pub const IV_LEN: usize = 32;
const TAG_LEN: usize = 16;

type Gcm = AesGcm<Aes256, aes_gcm::aead::consts::U32>;

/// Why a value could not be opened. Never carries plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("is not a sops value (expected ENC[AES256_GCM,data:...,iv:...,tag:...,type:...])")]
    Format,
    #[error("has a {0} field that is not valid base64")]
    Base64(&'static str),
    #[error("has an iv of {0} bytes, expected 32")]
    IvLength(usize),
    #[error("has a tag of {0} bytes, expected 16")]
    TagLength(usize),
    #[error("failed authentication: its data, iv, tag or key path was changed, or the data key is wrong")]
    Auth,
    #[error("has the unknown type `{0}`")]
    UnknownType(String),
    #[error("decrypts to something that is not a valid {0}")]
    BadPlaintext(&'static str),
}

/// The parts of an `ENC[...]` string.
struct Parsed {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    kind: String,
}

fn field<'a>(rest: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let rest = rest.strip_prefix(name)?.strip_prefix(':')?;
    let end = rest.find(',').unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].strip_prefix(',').unwrap_or("")))
}

fn parse(text: &str) -> Result<Parsed, CipherError> {
    let inner = text
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|s| s.strip_suffix(']'))
        .ok_or(CipherError::Format)?;
    let (data, rest) = field(inner, "data").ok_or(CipherError::Format)?;
    let (iv, rest) = field(rest, "iv").ok_or(CipherError::Format)?;
    let (tag, rest) = field(rest, "tag").ok_or(CipherError::Format)?;
    let kind = rest.strip_prefix("type:").ok_or(CipherError::Format)?;
    let decode = |s: &str, what| B64.decode(s).map_err(|_| CipherError::Base64(what));
    let parsed = Parsed {
        data: decode(data, "data")?,
        iv: decode(iv, "iv")?,
        tag: decode(tag, "tag")?,
        kind: kind.to_string(),
    };
    if parsed.iv.len() != IV_LEN {
        return Err(CipherError::IvLength(parsed.iv.len()));
    }
    if parsed.tag.len() != TAG_LEN {
        return Err(CipherError::TagLength(parsed.tag.len()));
    }
    Ok(parsed)
}

/// The IV of an `ENC[...]` value, when it parses.
pub fn iv_of(text: &str) -> Option<[u8; IV_LEN]> {
    parse(text).ok().and_then(|p| p.iv.try_into().ok())
}

/// Whether a string looks like a sops-encrypted value.
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with("ENC[AES256_GCM,") && text.ends_with(']')
}

/// The bytes sops feeds to the cipher and to the MAC for a leaf (Go's `sops.ToBytes`).
pub fn plaintext_bytes(value: &Value) -> Option<(Vec<u8>, &'static str)> {
    Some(match value {
        Value::Str(s) => (s.as_bytes().to_vec(), "str"),
        Value::Int(i) => (i.to_string().into_bytes(), "int"),
        Value::Float(f) => (format_float_f(*f).into_bytes(), "float"),
        // The Python sops wrote booleans title-cased; the Go one kept that.
        Value::Bool(b) => (
            (if *b { "True" } else { "False" }).as_bytes().to_vec(),
            "bool",
        ),
        Value::Bytes(b) => (b.clone(), "bytes"),
        Value::Time(t) => (t.as_bytes().to_vec(), "time"),
        Value::Comment(c) => (c.text.as_bytes().to_vec(), "comment"),
        Value::Null | Value::Map(_) | Value::List(_) => return None,
    })
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust's Display is shortest round-trip without exponent, like Go's 'f' with -1.
        format!("{f}")
    }
}

/// Whether sops leaves this value as it is (empty strings and comments are never encrypted).
pub fn is_empty(value: &Value) -> bool {
    match value {
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::Comment(c) => c.text.is_empty(),
        _ => false,
    }
}

/// Encrypts one leaf with the data key, the key-path AAD and the given IV.
/// Returns `None` for values sops keeps as they are (empty strings, null, containers).
pub fn encrypt(value: &Value, key: &[u8; 32], aad: &str, iv: &[u8; IV_LEN]) -> Option<String> {
    if is_empty(value) {
        return None;
    }
    let (plain, kind) = plaintext_bytes(value)?;
    Some(seal(&plain, kind, key, aad, iv))
}

/// Encrypts raw bytes under a type name.
pub fn seal(plain: &[u8], kind: &str, key: &[u8; 32], aad: &str, iv: &[u8; IV_LEN]) -> String {
    let cipher = Gcm::new(key.into());
    let out = cipher
        .encrypt(
            iv.into(),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let (data, tag) = out.split_at(out.len() - TAG_LEN);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        B64.encode(data),
        B64.encode(iv),
        B64.encode(tag)
    )
}

/// Opens an `ENC[...]` string to its raw bytes and type name.
pub fn open(text: &str, key: &[u8; 32], aad: &str) -> Result<(Vec<u8>, String), CipherError> {
    let p = parse(text)?;
    let cipher = Gcm::new(key.into());
    let mut msg = p.data;
    msg.extend_from_slice(&p.tag);
    let plain = cipher
        .decrypt(
            p.iv.as_slice().into(),
            Payload {
                msg: &msg,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CipherError::Auth)?;
    Ok((plain, p.kind))
}

/// Opens an `ENC[...]` string to a typed value (an empty string stays empty, as in sops).
pub fn decrypt(text: &str, key: &[u8; 32], aad: &str) -> Result<Value, CipherError> {
    if text.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let (plain, kind) = open(text, key, aad)?;
    let as_text =
        |what| String::from_utf8(plain.clone()).map_err(|_| CipherError::BadPlaintext(what));
    Ok(match kind.as_str() {
        "str" => Value::Str(as_text("string")?),
        "int" => Value::Int(
            as_text("int")?
                .parse()
                .map_err(|_| CipherError::BadPlaintext("int"))?,
        ),
        "float" => Value::Float(
            parse_go_float(&as_text("float")?).ok_or(CipherError::BadPlaintext("float"))?,
        ),
        "bool" => {
            Value::Bool(parse_go_bool(&as_text("bool")?).ok_or(CipherError::BadPlaintext("bool"))?)
        }
        "bytes" => Value::Bytes(plain),
        // sops' `time` values are the RFC 3339 text of a Go `time.Time`.
        "time" => Value::Time(as_text("time")?),
        "comment" => Value::Comment(Comment::new(as_text("comment")?)),
        other => return Err(CipherError::UnknownType(other.to_string())),
    })
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseFloat` for the forms sops writes (and infinities, NaN).
fn parse_go_float(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];
    const IV: [u8; 32] = [9; 32];

    #[test]
    fn round_trips_every_type() {
        for v in [
            Value::Str("hello".into()),
            Value::Int(-42),
            Value::Float(3.5),
            Value::Bool(false),
            Value::Bytes(vec![0, 255, 3]),
            Value::Comment(Comment::new(" note")),
        ] {
            let enc = encrypt(&v, &KEY, "a:b:", &IV).expect("encrypts");
            assert!(is_encrypted(&enc), "{enc}");
            assert_eq!(decrypt(&enc, &KEY, "a:b:").expect("decrypts"), v);
        }
    }

    #[test]
    fn bool_is_title_cased_like_sops() {
        let enc = encrypt(&Value::Bool(true), &KEY, "x:", &IV).expect("encrypts");
        assert_eq!(open(&enc, &KEY, "x:").expect("opens").0, b"True");
        assert!(enc.ends_with(",type:bool]"));
    }

    #[test]
    fn wrong_path_fails_authentication() {
        let enc = encrypt(&Value::Str("s".into()), &KEY, "a:", &IV).expect("encrypts");
        assert_eq!(decrypt(&enc, &KEY, "b:"), Err(CipherError::Auth));
    }

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float_f(1000.0), "1000");
        assert_eq!(format_float_f(3.5), "3.5");
        assert_eq!(format_float_f(1e21), "1000000000000000000000");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
    }

    #[test]
    fn malformed_values_are_refused() {
        assert_eq!(
            decrypt("ENC[AES256_GCM,data:x]", &KEY, ""),
            Err(CipherError::Format)
        );
        assert_eq!(
            decrypt(
                "ENC[AES256_GCM,data:!!,iv:AA==,tag:AA==,type:str]",
                &KEY,
                ""
            ),
            Err(CipherError::Base64("data"))
        );
    }
}
