//! The SOPS file format (sops 3.x): documents, per-value AES-256-GCM, the MAC and the `sops:`
//! block, for YAML and JSON. Key wrapping (age) is the caller's business: this module takes
//! and gives the 32-byte data key.

pub mod cipher;
pub mod json;
pub mod metadata;
pub mod tree;
pub mod walk;
pub mod yaml;

use metadata::Metadata;
use sha2::{Digest, Sha512};
use tree::{Branch, Value};

pub use cipher::CipherError;

/// A SOPS data key: 32 bytes, wiped when dropped.
pub type DataKey = zeroize::Zeroizing<[u8; 32]>;

/// Why a document could not be read, encrypted or decrypted. Messages never hold plaintext.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("{format} parse error{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Parse {
        format: &'static str,
        line: Option<usize>,
        message: String,
    },
    #[error("no `sops` metadata: the file is not encrypted with sops")]
    NoMetadata,
    #[error("the file already has `sops` metadata: it is encrypted already")]
    AlreadyEncrypted,
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    #[error("invalid selectors: {0}")]
    Selectors(String),
    #[error("the value at `{path}` {source}")]
    Value {
        path: String,
        #[source]
        source: CipherError,
    },
    #[error("the value at `{path}` should be encrypted but is not (the selectors or the value were changed)")]
    NotEncrypted { path: String },
    #[error("the encrypted comment `{text}` would match unencrypted_comment_regex")]
    CommentRegex { text: String },
    #[error("the MAC at `sops.mac` could not be opened: `sops.lastmodified` or `sops.mac` was changed, or the data key is wrong")]
    MacUnreadable,
    #[error("MAC mismatch: the values no longer match `sops.mac` (a value, its order or `sops.mac_only_encrypted` was changed)")]
    MacMismatch,
}

/// Where encryption IVs come from: random for files people edit, derived for stable sealing.
pub trait IvSource {
    /// The IV for `plain` encrypted under `aad`.
    fn iv(&mut self, aad: &str, plain: &[u8]) -> [u8; cipher::IV_LEN];
}

/// Fresh random IVs, as sops uses.
pub struct RandomIvs;

impl IvSource for RandomIvs {
    fn iv(&mut self, _aad: &str, _plain: &[u8]) -> [u8; cipher::IV_LEN] {
        let mut iv = [0u8; cipher::IV_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut iv);
        iv
    }
}

/// Bytes that start the MAC when only encrypted values are covered (sha256 of "sops").
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

fn new_mac(md: &Metadata) -> Sha512 {
    let mut h = Sha512::new();
    if md.mac_only_encrypted {
        h.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    h
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// What selectors would encrypt in a set of documents.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Values that would be encrypted.
    pub encrypted: usize,
    /// Key paths of the values left in clear (names, never values), in document order.
    pub clear: Vec<String>,
}

impl Coverage {
    /// Whether the selectors leave every value of documents that have values in clear.
    pub fn encrypts_nothing(&self) -> bool {
        self.encrypted == 0 && !self.clear.is_empty()
    }

    /// The key paths seen, for a message: at most 12, then how many more.
    pub fn keys_seen(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for k in &self.clear {
            if !seen.contains(&k.as_str()) {
                seen.push(k);
            }
        }
        let more = seen.len().saturating_sub(12);
        let mut out = seen[..seen.len().min(12)].join(", ");
        if more > 0 {
            out.push_str(&format!(" and {more} more"));
        }
        out
    }
}

/// Counts the values `selectors` would encrypt in `docs`, without encrypting anything.
///
/// # Errors
/// Bad selectors.
pub fn coverage(docs: &[Branch], selectors: &metadata::Selectors) -> Result<Coverage, SopsError> {
    let rules = selectors.compile()?;
    let mut c = Coverage::default();
    for doc in docs {
        // The walker hands out mutable values; a copy keeps this a pure question.
        let mut doc = doc.clone();
        walk::walk(&mut doc, &rules, &mut |v: &mut Value, leaf| {
            if leaf.is_comment || cipher::plaintext_bytes(v).is_none() {
                return Ok::<(), SopsError>(());
            }
            if leaf.encrypted {
                c.encrypted += 1;
            } else {
                c.clear.push(leaf.display.to_string());
            }
            Ok(())
        })?;
    }
    Ok(c)
}

/// Encrypts every selected leaf of `docs` in place and stores the encrypted MAC in `md`.
/// `md.selectors`, `md.mac_only_encrypted` and `md.last_modified` must be set.
///
/// # Errors
/// Bad selectors, or an encrypted comment that the unencrypted comment regex would match.
pub fn encrypt_docs(
    docs: &mut [Branch],
    key: &DataKey,
    md: &mut Metadata,
    ivs: &mut dyn IvSource,
) -> Result<(), SopsError> {
    let rules = md.selectors.compile()?;
    let mut mac = new_mac(md);
    for doc in docs.iter_mut() {
        walk::walk(doc, &rules, &mut |v: &mut Value, leaf| {
            if !leaf.is_comment && (!md.mac_only_encrypted || leaf.encrypted) {
                if let Some((bytes, _)) = cipher::plaintext_bytes(v) {
                    mac.update(&bytes);
                }
            }
            if !leaf.encrypted || cipher::is_empty(v) {
                return Ok(());
            }
            let Some((plain, _)) = cipher::plaintext_bytes(v) else {
                return Ok(());
            };
            let iv = ivs.iv(leaf.aad, &plain);
            let Some(enc) = cipher::encrypt(v, key, leaf.aad, &iv) else {
                return Ok(());
            };
            // sops 3.x writes an encrypted list comment as a string item.
            *v = match v {
                Value::Comment(c) if leaf.in_map => {
                    if rules.unencrypted_comment_matches(&enc) {
                        return Err(SopsError::CommentRegex { text: enc });
                    }
                    Value::Comment(tree::Comment {
                        text: enc,
                        inline: c.inline,
                    })
                }
                _ => Value::Str(enc),
            };
            Ok(())
        })?;
    }
    let mac_hex = hex_upper(&mac.finalize());
    let iv = ivs.iv(&md.last_modified, mac_hex.as_bytes());
    md.mac = cipher::seal(mac_hex.as_bytes(), "str", key, &md.last_modified, &iv);
    Ok(())
}

/// The AADs to try for an encrypted comment: its own path first, then each enclosing one
/// (YAML parsers disagree on which mapping a comment between two levels belongs to).
fn comment_aads(aad: &str) -> Vec<String> {
    let parts: Vec<&str> = aad
        .trim_end_matches(':')
        .split(':')
        .filter(|p| !p.is_empty())
        .collect();
    let mut out = vec![aad.to_string()];
    for n in (0..parts.len()).rev() {
        out.push(format!("{}:", parts[..n].join(":")));
    }
    out
}

/// Decrypts every encrypted leaf of `docs` in place and checks the MAC.
///
/// # Errors
/// A value that does not open (named by its path), or a MAC that does not match.
pub fn decrypt_docs(docs: &mut [Branch], key: &DataKey, md: &Metadata) -> Result<(), SopsError> {
    decrypt_docs_stashing(docs, key, md, None)
}

/// The IVs of a file's values by key path and plaintext, so that writing it back with the same
/// data key keeps the ciphertext of every unchanged value (quiet diffs after an edit, as sops
/// does).
#[derive(Default)]
pub struct IvStash(std::collections::HashMap<(String, Vec<u8>), [u8; cipher::IV_LEN]>);

impl Drop for IvStash {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        // The keys hold plaintext: wipe them.
        for ((_, mut plain), _) in self.0.drain() {
            plain.zeroize();
        }
    }
}

/// Reuses stashed IVs for unchanged values, fresh random ones for the rest.
pub struct StashedIvs<'a>(pub &'a IvStash);

impl IvSource for StashedIvs<'_> {
    fn iv(&mut self, aad: &str, plain: &[u8]) -> [u8; cipher::IV_LEN] {
        match self.0 .0.get(&(aad.to_string(), plain.to_vec())) {
            Some(iv) => *iv,
            None => RandomIvs.iv(aad, plain),
        }
    }
}

/// [`decrypt_docs`], recording every value's IV in `stash`.
///
/// # Errors
/// As [`decrypt_docs`].
pub fn decrypt_docs_stashing(
    docs: &mut [Branch],
    key: &DataKey,
    md: &Metadata,
    mut stash: Option<&mut IvStash>,
) -> Result<(), SopsError> {
    let rules = md.selectors.compile()?;
    let mut mac = new_mac(md);
    for doc in docs.iter_mut() {
        walk::walk(doc, &rules, &mut |v: &mut Value, leaf| {
            if leaf.encrypted {
                match v {
                    Value::Comment(c) => {
                        // sops keeps a comment it cannot open: files from old versions have
                        // readable comments.
                        if cipher::is_encrypted(&c.text) {
                            for aad in comment_aads(leaf.aad) {
                                if let Ok(Value::Comment(plain)) =
                                    cipher::decrypt(&c.text, key, &aad)
                                {
                                    c.text = plain.text;
                                    break;
                                }
                            }
                        }
                    }
                    Value::Str(s) => {
                        let iv = cipher::iv_of(s);
                        *v = cipher::decrypt(s, key, leaf.aad).map_err(|source| {
                            SopsError::Value {
                                path: leaf.display.to_string(),
                                source,
                            }
                        })?;
                        if let (Some(stash), Some(iv), Some((plain, _))) =
                            (stash.as_deref_mut(), iv, cipher::plaintext_bytes(v))
                        {
                            stash.0.insert((leaf.aad.to_string(), plain), iv);
                        }
                    }
                    _ => {
                        return Err(SopsError::NotEncrypted {
                            path: leaf.display.to_string(),
                        })
                    }
                }
            }
            // sops 3.x judges the decrypted value: a list comment (stored as an encrypted
            // string item) is left out of the MAC like every other comment.
            if !matches!(v, Value::Comment(_)) && (!md.mac_only_encrypted || leaf.encrypted) {
                if let Some((bytes, _)) = cipher::plaintext_bytes(v) {
                    mac.update(&bytes);
                }
            }
            Ok(())
        })?;
    }
    let computed = hex_upper(&mac.finalize());
    let (stored, _) =
        cipher::open(&md.mac, key, &md.last_modified).map_err(|_| SopsError::MacUnreadable)?;
    if stored != computed.as_bytes() {
        return Err(SopsError::MacMismatch);
    }
    Ok(())
}

/// The two text formats sops keeps per-value encryption for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// By file name, as sops does: `.json` is JSON, everything else YAML.
    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            _ => Format::Yaml,
        }
    }

    /// Parses a file's documents (JSON has exactly one).
    ///
    /// # Errors
    /// Syntax errors with their line; documents that are not mappings.
    pub fn parse(self, text: &str) -> Result<Vec<Branch>, SopsError> {
        match self {
            Format::Yaml => yaml::parse(text),
            Format::Json => json::parse(text).map(|b| vec![b]),
        }
    }

    /// Writes documents the way sops does.
    pub fn emit(self, docs: &[Branch]) -> String {
        match self {
            Format::Yaml => yaml::emit(docs),
            Format::Json => docs
                .first()
                .map(json::emit)
                .unwrap_or_else(|| "{}\n".into()),
        }
    }
}

/// Adds the metadata to every document (sops repeats it in each YAML document).
pub fn attach(docs: &mut [Branch], md: &Metadata) {
    let v = md.to_value();
    for doc in docs {
        doc.push(tree::Item::Entry("sops".into(), v.clone()));
    }
}

/// Whether a parsed document carries sops metadata.
pub fn has_metadata(docs: &[Branch]) -> bool {
    docs.first().is_some_and(|d| tree::get(d, "sops").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata::Selectors;
    use tree::Item;

    fn md(selectors: Selectors) -> Metadata {
        Metadata {
            age: vec![],
            last_modified: "2024-01-01T00:00:00Z".into(),
            mac: String::new(),
            selectors: selectors.or_default(),
            mac_only_encrypted: false,
            version: metadata::FORMAT_VERSION.into(),
            other: vec![],
        }
    }

    fn sample() -> Vec<Branch> {
        vec![vec![
            Item::Comment(tree::Comment::new(" hello")),
            Item::Entry("a".into(), Value::Str("x".into())),
            Item::Entry("b_unencrypted".into(), Value::Int(3)),
            Item::Entry(
                "l".into(),
                Value::List(vec![Value::Bool(true), Value::Float(1.5), Value::Null]),
            ),
        ]]
    }

    #[test]
    fn encrypt_then_decrypt_is_identity() {
        let key = DataKey::new([1; 32]);
        let mut m = md(Selectors::default());
        let mut docs = sample();
        encrypt_docs(&mut docs, &key, &mut m, &mut RandomIvs).expect("encrypts");
        assert_eq!(tree::get(&docs[0], "b_unencrypted"), Some(&Value::Int(3)));
        assert!(matches!(tree::get(&docs[0], "a"), Some(Value::Str(s)) if s.starts_with("ENC[")));
        decrypt_docs(&mut docs, &key, &m).expect("decrypts");
        assert_eq!(docs, sample());
    }

    #[test]
    fn changed_lastmodified_is_refused() {
        let key = DataKey::new([1; 32]);
        let mut m = md(Selectors::default());
        let mut docs = sample();
        encrypt_docs(&mut docs, &key, &mut m, &mut RandomIvs).expect("encrypts");
        m.last_modified = "2025-01-01T00:00:00Z".into();
        assert!(matches!(
            decrypt_docs(&mut docs, &key, &m),
            Err(SopsError::MacUnreadable)
        ));
    }

    #[test]
    fn swapped_values_are_refused_naming_the_path() {
        let key = DataKey::new([1; 32]);
        let mut m = md(Selectors::default());
        let mut docs = vec![vec![
            Item::Entry("a".into(), Value::Str("x".into())),
            Item::Entry("b".into(), Value::Str("y".into())),
        ]];
        encrypt_docs(&mut docs, &key, &mut m, &mut RandomIvs).expect("encrypts");
        let a = tree::get(&docs[0], "a").cloned();
        if let (Some(a), Item::Entry(_, b)) = (a, &mut docs[0][1]) {
            *b = a;
        }
        let err = decrypt_docs(&mut docs, &key, &m).expect_err("refused");
        assert!(err.to_string().contains("`b`"), "{err}");
    }
}
