//! Stable sealing: SOPS encryption whose every random input (data key, IVs, the age file key,
//! ephemeral key and nonce) is derived with domain-separated HKDF from the CI identity's secret
//! and the plaintext. The same plaintext sealed for the same recipients gives the same bytes;
//! anything else gives new bytes; stock `sops` and `age` decrypt the result.

use super::age::{self as agekeys, Recipient};
use super::identity::Identities;
use super::sops::metadata::{Metadata, Selectors, FORMAT_VERSION};
use super::sops::tree::Branch;
use super::sops::{self, cipher, DataKey, Format, IvSource};
use super::SecretsError;
use hkdf::Hkdf;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

/// `lastmodified` of sealed files: a constant, so that unchanged secrets keep their bytes.
pub const SEALED_LASTMODIFIED: &str = "1970-01-01T00:00:00Z";

/// The selectors every sealed Kubernetes object gets.
pub fn kubernetes_selectors() -> Selectors {
    Selectors {
        encrypted_regex: Some("^(data|stringData)$".into()),
        ..Default::default()
    }
}

/// The secret the derivations start from: the CI identity's key material, never written.
pub struct SealKey(Zeroizing<Vec<u8>>);

impl SealKey {
    /// From the first of the CI's identities.
    pub fn from_identities(ids: &Identities) -> Option<SealKey> {
        ids.seal_secret().map(SealKey)
    }

    /// From raw secret bytes (tests, benchmarks).
    pub fn from_secret(secret: &[u8]) -> SealKey {
        SealKey(Zeroizing::new(secret.to_vec()))
    }

    /// The per-document seed: secret key material and a digest of everything sealed.
    fn seed(
        &self,
        plaintext: &[u8],
        recipients: &[Recipient],
        selectors: &Selectors,
    ) -> Zeroizing<[u8; 32]> {
        let mut h = Sha512::new();
        h.update(b"ferry/seal/v1\0");
        for r in recipients {
            h.update(r.as_str().as_bytes());
            h.update([0]);
        }
        h.update(format!("{selectors:?}").as_bytes());
        h.update([0]);
        h.update(plaintext);
        let mut seed = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(b"ferry/seal/v1/seed"), &self.0)
            .expand(&h.finalize(), seed.as_mut_slice())
            .expect("32 bytes");
        seed
    }
}

fn expand(seed: &[u8; 32], info: &[&[u8]], out: &mut [u8]) {
    let info: Vec<u8> = info
        .iter()
        .flat_map(|p| {
            (p.len() as u64)
                .to_be_bytes()
                .into_iter()
                .chain(p.iter().copied())
        })
        .collect();
    Hkdf::<Sha256>::from_prk(seed)
        .expect("32-byte PRK")
        .expand(&info, out)
        .expect("short output");
}

/// IVs derived from the seed, the key path and the value.
struct DerivedIvs<'a>(&'a [u8; 32]);

impl IvSource for DerivedIvs<'_> {
    fn iv(&mut self, aad: &str, plain: &[u8]) -> [u8; cipher::IV_LEN] {
        let mut iv = [0u8; cipher::IV_LEN];
        expand(self.0, &[b"iv", aad.as_bytes(), plain], &mut iv);
        iv
    }
}

/// Seals plaintext documents for `recipients` and returns the encrypted documents (each with
/// its `sops` entry).
///
/// # Errors
/// No recipients, bad selectors.
pub fn seal_docs(
    docs: Vec<Branch>,
    recipients: &[Recipient],
    selectors: &Selectors,
    key: &SealKey,
) -> Result<Vec<Branch>, SecretsError> {
    if recipients.is_empty() {
        return Err(SecretsError::NoRecipients);
    }
    let canonical = Zeroizing::new(Format::Yaml.emit(&docs));
    let seed = key.seed(canonical.as_bytes(), recipients, selectors);
    let mut data_key = DataKey::new([0; 32]);
    expand(&seed, &[b"data-key"], data_key.as_mut_slice());
    let age = recipients
        .iter()
        .map(|r| {
            let mut s = Zeroizing::new([0u8; 32]);
            expand(&seed, &[b"age", r.as_str().as_bytes()], s.as_mut_slice());
            agekeys::wrap_derived(&data_key, r, &s)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut md = Metadata {
        age,
        last_modified: SEALED_LASTMODIFIED.into(),
        mac: String::new(),
        selectors: selectors.clone().or_default(),
        mac_only_encrypted: false,
        version: FORMAT_VERSION.into(),
        other: Vec::new(),
    };
    let mut docs = docs;
    sops::encrypt_docs(&mut docs, &data_key, &mut md, &mut DerivedIvs(&seed))?;
    sops::attach(&mut docs, &md);
    Ok(docs)
}

/// Seals a file's text (YAML or JSON) and returns the encrypted text.
///
/// # Errors
/// Unparsable input, a file already encrypted, no recipients, bad selectors.
pub fn seal_text(
    text: &str,
    format: Format,
    recipients: &[Recipient],
    selectors: &Selectors,
    key: &SealKey,
) -> Result<String, SecretsError> {
    let docs = format.parse(text)?;
    if sops::has_metadata(&docs) {
        return Err(sops::SopsError::AlreadyEncrypted.into());
    }
    Ok(format.emit(&seal_docs(docs, recipients, selectors, key)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::age::secrecy::ExposeSecret;

    fn setup() -> (Identities, Recipient, SealKey) {
        let id = ::age::x25519::Identity::generate();
        let ids = Identities::from_text(id.to_string().expose_secret(), "t").expect("ids");
        let r = Recipient::parse(&id.to_public().to_string()).expect("r");
        let key = SealKey::from_identities(&ids).expect("key");
        (ids, r, key)
    }

    const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ndata:\n    password: aHVudGVyMg==\n";

    #[test]
    fn same_input_same_bytes_and_it_opens() {
        let (ids, r, key) = setup();
        let sel = kubernetes_selectors();
        let a =
            seal_text(SECRET, Format::Yaml, std::slice::from_ref(&r), &sel, &key).expect("seals");
        let b =
            seal_text(SECRET, Format::Yaml, std::slice::from_ref(&r), &sel, &key).expect("seals");
        assert_eq!(a, b);
        assert!(!a.contains("aHVudGVyMg=="));
        assert_eq!(
            *super::super::decrypt(&a, Format::Yaml, &ids).expect("opens"),
            SECRET
        );
    }

    #[test]
    fn another_value_recipient_or_ci_key_gives_new_bytes() {
        let (_, r, key) = setup();
        let (_, r2, key2) = setup();
        let sel = kubernetes_selectors();
        let base =
            seal_text(SECRET, Format::Yaml, std::slice::from_ref(&r), &sel, &key).expect("seals");
        let changed = SECRET.replace("aHVudGVyMg==", "aHVudGVyMw==");
        assert_ne!(
            base,
            seal_text(&changed, Format::Yaml, std::slice::from_ref(&r), &sel, &key).expect("seals")
        );
        assert_ne!(
            base,
            seal_text(SECRET, Format::Yaml, &[r2], &sel, &key).expect("seals")
        );
        assert_ne!(
            base,
            seal_text(SECRET, Format::Yaml, &[r], &sel, &key2).expect("seals")
        );
    }
}
