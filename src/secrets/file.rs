//! Whole files: encrypt plaintext to recipients, open an encrypted file, and write an opened
//! file back (same key after an edit, a new key on rotate, new recipients on updatekeys).

use super::age::{self as agekeys, Recipient};
use super::identity::Identities;
use super::sops::metadata::{self, Metadata, Selectors};
use super::sops::tree::Branch;
use super::sops::{self, DataKey, Format, IvSource, RandomIvs, SopsError};
use super::SecretsError;
use zeroize::Zeroizing;

/// What to encrypt for and how.
#[derive(Debug, Clone, Default)]
pub struct EncryptOptions {
    pub recipients: Vec<Recipient>,
    pub selectors: Selectors,
    pub mac_only_encrypted: bool,
    /// Write the file even when the selectors encrypt no value.
    pub allow_empty: bool,
}

/// A decrypted file: its plaintext documents, metadata and data key, all in memory.
pub struct Opened {
    pub format: Format,
    pub docs: Vec<Branch>,
    pub metadata: Metadata,
    pub key: DataKey,
    /// The IVs of the values as they were, for [`reseal`].
    pub stash: sops::IvStash,
}

impl Opened {
    /// The plaintext as `sops -d` prints it.
    pub fn plaintext(&self) -> Zeroizing<String> {
        Zeroizing::new(self.format.emit(&self.docs))
    }
}

fn random_key() -> DataKey {
    let mut k = DataKey::new([0; 32]);
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, k.as_mut_slice());
    k
}

/// Encrypts plaintext documents for the given recipients with fresh randomness.
///
/// # Errors
/// Unparsable input, a file that is encrypted already, no recipients, bad selectors.
pub fn encrypt(text: &str, format: Format, opts: &EncryptOptions) -> Result<String, SecretsError> {
    let docs = format.parse(text)?;
    if sops::has_metadata(&docs) {
        return Err(SopsError::AlreadyEncrypted.into());
    }
    if opts.recipients.is_empty() {
        return Err(SecretsError::NoRecipients);
    }
    let selectors = opts.selectors.clone().or_default();
    let coverage = sops::coverage(&docs, &selectors)?;
    if coverage.encrypts_nothing() && !opts.allow_empty {
        return Err(SecretsError::EncryptsNothing {
            what: "encrypt".into(),
            selectors: selectors.describe(),
            keys: coverage.keys_seen(),
            hint: "fix the selector (a regex is matched against each key on a value's path), or pass --allow-empty to write the values in clear".into(),
        });
    }
    let key = random_key();
    let md = Metadata {
        age: agekeys::wrap(&key, &opts.recipients)?,
        last_modified: metadata::now_rfc3339(),
        mac: String::new(),
        selectors,
        mac_only_encrypted: opts.mac_only_encrypted,
        version: metadata::FORMAT_VERSION.into(),
        other: Vec::new(),
    };
    seal_docs(docs, format, &key, md, &mut RandomIvs)
}

/// Encrypts documents with a known key and metadata (recipients already wrapped).
pub(crate) fn seal_docs(
    mut docs: Vec<Branch>,
    format: Format,
    key: &DataKey,
    mut md: Metadata,
    ivs: &mut dyn IvSource,
) -> Result<String, SecretsError> {
    sops::encrypt_docs(&mut docs, key, &mut md, ivs)?;
    sops::attach(&mut docs, &md);
    Ok(format.emit(&docs))
}

/// Opens an encrypted file: finds the data key with one of the identities, decrypts every
/// value and checks the MAC.
///
/// # Errors
/// No metadata, no fitting identity (the error lists the file's recipients), a tampered
/// value (named by its path), a MAC mismatch.
pub fn open(text: &str, format: Format, ids: &Identities) -> Result<Opened, SecretsError> {
    let mut docs = format.parse(text)?;
    let md = metadata::extract(&mut docs)?;
    let key = agekeys::unwrap(&md.age, ids, md.foreign_key_groups())?;
    let mut stash = sops::IvStash::default();
    sops::decrypt_docs_stashing(&mut docs, &key, &md, Some(&mut stash))?;
    Ok(Opened {
        stash,
        format,
        docs,
        metadata: md,
        key,
    })
}

/// Decrypts a file to the text `sops -d` prints.
///
/// # Errors
/// As [`open`].
pub fn decrypt(
    text: &str,
    format: Format,
    ids: &Identities,
) -> Result<Zeroizing<String>, SecretsError> {
    Ok(open(text, format, ids)?.plaintext())
}

/// Encrypts an opened file again, with the same data key and recipients and a new
/// `lastmodified` (after an edit). Unchanged values keep their IV, so their ciphertext, as
/// with sops.
///
/// # Errors
/// Bad selectors.
pub fn reseal(opened: &Opened) -> Result<String, SecretsError> {
    let mut md = opened.metadata.clone();
    md.last_modified = metadata::now_rfc3339();
    md.version = metadata::FORMAT_VERSION.into();
    seal_docs(
        opened.docs.clone(),
        opened.format,
        &opened.key,
        md,
        &mut sops::StashedIvs(&opened.stash),
    )
}

/// A new data key wrapped to the same age recipients (sops `rotate`).
///
/// # Errors
/// Files also held by key groups ferry cannot re-wrap (pgp, kms, ...).
pub fn rotate(opened: &Opened) -> Result<String, SecretsError> {
    let foreign = opened.metadata.foreign_key_groups();
    if !foreign.is_empty() {
        return Err(SecretsError::Unsupported(format!(
            "cannot rotate: the data key is also wrapped by {}, which ferry cannot re-wrap; use sops rotate",
            foreign.join(", ")
        )));
    }
    let recipients: Vec<Recipient> = opened
        .metadata
        .age
        .iter()
        .map(|k| Recipient::parse(&k.recipient))
        .collect::<Result<_, _>>()?;
    let key = random_key();
    let mut md = opened.metadata.clone();
    md.age = agekeys::wrap(&key, &recipients)?;
    md.last_modified = metadata::now_rfc3339();
    md.version = metadata::FORMAT_VERSION.into();
    seal_docs(opened.docs.clone(), opened.format, &key, md, &mut RandomIvs)
}

/// The same data key wrapped to a new set of age recipients (sops `updatekeys`); entries for
/// recipients that stay are kept as they are. Returns `None` when nothing changes.
///
/// # Errors
/// Only if wrapping fails.
pub fn update_keys(
    text: &str,
    opened: &Opened,
    recipients: &[Recipient],
) -> Result<Option<String>, SecretsError> {
    let current: Vec<&str> = opened
        .metadata
        .age
        .iter()
        .map(|k| k.recipient.as_str())
        .collect();
    let wanted: Vec<&str> = recipients.iter().map(Recipient::as_str).collect();
    if current == wanted {
        return Ok(None);
    }
    let mut age = Vec::new();
    for r in recipients {
        match opened
            .metadata
            .age
            .iter()
            .find(|k| k.recipient == r.as_str())
        {
            Some(k) => age.push(k.clone()),
            None => age.extend(agekeys::wrap(&opened.key, std::slice::from_ref(r))?),
        }
    }
    // Only the sops block changes: values, IVs and the MAC stay byte for byte.
    let mut docs = opened.format.parse(text)?;
    let mut md = metadata::extract(&mut docs)?;
    md.age = age;
    sops::attach(&mut docs, &md);
    Ok(Some(opened.format.emit(&docs)))
}
