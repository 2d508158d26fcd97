//! Sprig's password and cipher functions: `bcrypt` and `htpasswd` (Go's bcrypt, `$2a$`, cost
//! 10), `derivePassword` (the Master Password algorithm: scrypt, then HMAC-SHA256 picks a
//! template and its characters; deterministic, so byte for byte as helm), `encryptAES` and
//! `decryptAES` (AES-256-CBC with the password zero-padded or cut to 32 bytes, a random IV in
//! front, PKCS#7 padding, base64). Where Go's `decryptAES` panics on a short or ragged input,
//! the template fails with the words of Go's runtime error, as helm does.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use gotmpl::{Func, FuncMap, Signature, Type, Value};
use hmac::Mac;

const BCRYPT_COST: u32 = 10;
const BLOCK: usize = 16;

/// Sprig's `bcrypt`: the hash, or the text Sprig returns in its place.
fn bcrypt(password: &str) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    let salt: [u8; 16] = rand::random();
    match bcrypt::hash_with_salt(password, BCRYPT_COST, salt) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

fn htpasswd(user: &str, password: &str) -> String {
    if user.contains(':') {
        return format!("invalid username: {user}");
    }
    format!("{user}:{}", bcrypt(password))
}

const SEED: &str = "com.lyndir.masterpassword";

/// The templates of each password type (Master Password's, as Sprig lists them).
fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters a template letter stands for.
fn characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    let Some(templates) = templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let scoped = |name: &str| {
        let mut b = SEED.as_bytes().to_vec();
        b.extend((name.len() as u32).to_be_bytes());
        b.extend(name.as_bytes());
        b
    };
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).expect("constant scrypt parameters");
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &scoped(user), &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = scoped(site);
    msg.extend(counter.to_be_bytes());
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return "failed to derive password".into();
    };
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[seed[0] as usize % templates.len()];
    template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = characters(class);
            chars[seed[i + 1] as usize % chars.len()] as char
        })
        .collect()
}

/// The AES-256 key Sprig makes of a password.
fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

fn encrypt_aes(password: &str, plaintext: &str) -> String {
    if plaintext.is_empty() {
        return String::new();
    }
    let iv: [u8; BLOCK] = rand::random();
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let sealed =
        enc.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(plaintext.as_bytes());
    let mut out = iv.to_vec();
    out.extend(sealed);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// Sprig's `decryptAES`, failing where Go's panics, with the runtime's words.
fn decrypt_aes(password: &str, text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let crypt = go_base64(text)?;
    if crypt.len() < BLOCK {
        return Err(format!(
            "runtime error: slice bounds out of range [:{BLOCK}] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(BLOCK);
    if body.len() % BLOCK != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let Some(&last) = body.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), iv.into());
    let plain = dec
        .decrypt_padded_vec_mut::<aes::cipher::block_padding::NoPadding>(body)
        .map_err(|e| e.to_string())?;
    let last = plain.last().copied().unwrap_or(last) as usize;
    let Some(end) = plain.len().checked_sub(last) else {
        return Err(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - last as i64
        ));
    };
    Ok(String::from_utf8_lossy(&plain[..end]).into_owned())
}

/// Go's `base64.StdEncoding.DecodeString`, with its error words (the offset of the first
/// byte it cannot take).
fn go_base64(text: &str) -> Result<Vec<u8>, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    b64.decode(text).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => i,
            _ => {
                // Missing or misplaced padding: Go reports the end of the last full quantum.
                let body = text.trim_end_matches('=');
                body.len() - body.len() % 4
            }
        };
        format!("illegal base64 data at input byte {at}")
    })
}

/// A function of two strings to a string or an error.
fn two_strings(m: &mut FuncMap, name: &str, f: fn(&str, &str) -> Result<String, String>) {
    let sig = Signature::fixed(&[Type::String, Type::String]);
    m.insert(
        name,
        Func::pure(sig, move |a| {
            let s = |i: usize| a[i].as_str().unwrap_or_default();
            f(s(0), s(1)).map(|out| Value::str(&out))
        }),
    );
}

pub fn register(m: &mut FuncMap) {
    use Type::String as S;
    two_strings(m, "htpasswd", |u, p| Ok(htpasswd(u, p)));
    two_strings(m, "encryptAES", |k, t| Ok(encrypt_aes(k, t)));
    two_strings(m, "decryptAES", decrypt_aes);
    m.insert(
        "bcrypt",
        Func::pure(Signature::fixed(&[S]), |a| {
            Ok(Value::str(&bcrypt(a[0].as_str().unwrap_or_default())))
        }),
    );
    m.insert(
        "derivePassword",
        Func::pure(Signature::fixed(&[Type::Int, S, S, S, S]), |a| {
            let s = |i: usize| a[i].as_str().unwrap_or_default();
            let counter = a[0].as_int().unwrap_or(0);
            let Ok(counter) = u32::try_from(counter) else {
                return Err(format!("expected unsigned integer; found {counter}"));
            };
            Ok(Value::str(&derive_password(
                counter,
                s(1),
                s(2),
                s(3),
                s(4),
            )))
        }),
    );
    m.insert(
        "genPrivateKey",
        Func::pure(Signature::fixed(&[S]), |a| {
            Ok(Value::str(
                &match super::keys::Key::generate(a[0].as_str().unwrap_or_default()) {
                    Ok(k) => k.to_pem(),
                    Err(text) => text,
                },
            ))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_round_trips_and_fails_as_go_panics() {
        let sealed = encrypt_aes("secret", "hello, world");
        assert_eq!(
            decrypt_aes("secret", &sealed).as_deref(),
            Ok("hello, world")
        );
        assert_eq!(encrypt_aes("k", ""), "");
        assert_eq!(
            decrypt_aes("k", "YWJj").unwrap_err(),
            "runtime error: slice bounds out of range [:16] with capacity 3"
        );
    }

    #[test]
    fn htpasswd_refuses_a_colon() {
        assert_eq!(htpasswd("a:b", "x"), "invalid username: a:b");
        let line = htpasswd("me", "pw");
        let hash = line.strip_prefix("me:").expect("user");
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert!(::bcrypt::verify("pw", hash).expect("verify"));
    }
}
