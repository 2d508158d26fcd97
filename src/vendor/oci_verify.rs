//! `spec.verify` of a Flux OCIRepository (provider `cosign`, with `secretRef`): the artifact's
//! digest must carry a cosign signature (a v2 `.sig` tag or a v3 Sigstore bundle) by one of
//! the `*.pub` keys of that Secret, as source-controller requires before it serves the
//! artifact. ferry checks it when `ferry vendor --flux` resolves and pins the digest, and
//! records the fingerprint of the key that verified in `ferry.lock`, so an offline build needs
//! no key: it only checks that the pin was verified.

use super::{Lock, VendorError};
use crate::artifact::oci::Registry;
use crate::artifact::oci_json::Manifest;
use crate::artifact::pull::{check_signature, VerifyError};
use crate::artifact::sign::keys;
use crate::artifact::sign::VerifyingKey;
use crate::artifact::ArtifactRef;
use crate::config::ChartRef;
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an OCIRepository's `spec.verify` asks for, once ferry accepted it (keyless and
/// notation are refused where the spec is read).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyedVerify {
    /// `OCIRepository namespace/name (file)`, for messages.
    pub object: String,
    /// The Secret `spec.verify.secretRef` names, `namespace/name`.
    pub secret: String,
    /// The Secret's `*.pub` entries as `(key, PEM)` when the repository holds the Secret;
    /// `None` when it does not (then `--verify-key` gives the key).
    pub keys: Option<Vec<(String, String)>>,
}

/// Public keys given on the command line for Secrets the repository does not hold:
/// `NAMESPACE/NAME=PATH` (repeatable).
#[derive(Debug, Clone, Default)]
pub struct FlagKeys(BTreeMap<String, Vec<(PathBuf, VerifyingKey)>>);

impl FlagKeys {
    /// Reads each `NAMESPACE/NAME=PATH` and the PEM public key at PATH.
    ///
    /// # Errors
    /// A malformed flag, an unreadable or invalid key file.
    pub fn parse(flags: &[String]) -> Result<FlagKeys, String> {
        let mut out: BTreeMap<String, Vec<(PathBuf, VerifyingKey)>> = BTreeMap::new();
        for f in flags {
            let bad = || {
                format!("--verify-key `{f}`: expected NAMESPACE/NAME=PATH (the Secret an OCIRepository's spec.verify.secretRef names, and a cosign.pub file)")
            };
            let (secret, path) = f.split_once('=').ok_or_else(bad)?;
            let (ns, name) = secret.split_once('/').ok_or_else(bad)?;
            if ns.is_empty() || name.is_empty() || name.contains('/') || path.is_empty() {
                return Err(bad());
            }
            let path = PathBuf::from(path);
            let key = keys::read(&path)
                .and_then(|text| keys::parse_public(&path, &text))
                .map_err(|e| format!("--verify-key {secret}: {e}"))?;
            out.entry(secret.to_string()).or_default().push((path, key));
        }
        Ok(FlagKeys(out))
    }
}

/// `sha256:<hex>` of the key's DER SubjectPublicKeyInfo: what `ferry.lock` records.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .expect("a P-256 key encodes as SPKI");
    format!("sha256:{}", hex::encode(Sha256::digest(der.as_bytes())))
}

/// The Secret's keys as the repository holds them, parsed; `None` when it does not hold it.
fn committed(v: &KeyedVerify) -> Result<Option<Vec<VerifyingKey>>, String> {
    let Some(entries) = &v.keys else {
        return Ok(None);
    };
    if entries.is_empty() {
        return Err(format!(
            "{}: spec.verify.secretRef: Secret {} holds no `*.pub` key, so Flux verifies nothing against it and refuses the artifact\nhint: add the cosign public key as `cosign.pub` to the Secret",
            v.object, v.secret
        ));
    }
    entries
        .iter()
        .map(|(k, pem)| {
            keys::parse_public(Path::new(k), pem).map_err(|e| {
                format!(
                    "{}: spec.verify.secretRef: Secret {}: {e}",
                    v.object, v.secret
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// The keys to verify with: the committed Secret's, else the `--verify-key` ones.
///
/// # Errors
/// Neither: naming the OCIRepository, its file and what to do.
pub fn keys_for(v: &KeyedVerify, flags: &FlagKeys) -> Result<Vec<VerifyingKey>, String> {
    if let Some(keys) = committed(v)? {
        return Ok(keys);
    }
    match flags.0.get(&v.secret) {
        Some(keys) => Ok(keys.iter().map(|(_, k)| *k).collect()),
        None => Err(format!(
            "{}: spec.verify.secretRef names Secret {s}, which this repository does not hold, so ferry has no public key to verify the artifact with\nhint: pass `ferry vendor --flux --verify-key {s}=cosign.pub` (the key in that Secret), or commit the Secret (SOPS-encrypted if you like)",
            v.object,
            s = v.secret
        )),
    }
}

/// Whether a pin verified by `verified_by` (key fingerprints) satisfies `v`: verified at
/// all, and, when the repository holds the Secret, by one of its keys.
///
/// # Errors
/// Why not, with what to run.
pub fn satisfied(v: &KeyedVerify, digest: &str, verified_by: &[String]) -> Result<(), String> {
    // A committed Secret ferry cannot read keys from (none, or malformed) verifies nothing,
    // whatever the lock recorded.
    let ok = match committed(v)? {
        Some(keys) => keys.iter().any(|k| verified_by.contains(&fingerprint(k))),
        None => !verified_by.is_empty(),
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "{}: spec.verify asks for a cosign signature by a key of Secret {}, and ferry.lock does not record {digest} as verified by one\nhint: run `ferry vendor --flux` (it needs the network) to verify and pin it",
        v.object, v.secret
    ))
}

/// The message of a refused signature check without the hints meant for `ferry pull`.
fn reason(e: &VerifyError) -> String {
    e.to_string()
        .lines()
        .filter(|l| !l.starts_with("hint:"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that `digest` in `pinned`'s repository is signed by one of `keys`; the fingerprint
/// of the first key that verifies.
///
/// # Errors
/// No signature by any key, naming the artifact and digest; the registry's errors.
pub fn verify(
    reg: &Registry,
    pinned: &ArtifactRef,
    digest: &str,
    keys: &[VerifyingKey],
    v: &KeyedVerify,
) -> Result<String, String> {
    let mut last = None;
    for key in keys {
        match check_signature(reg, pinned, digest, std::slice::from_ref(key)) {
            Ok(_) => return Ok(fingerprint(key)),
            Err(VerifyError::Registry(e)) => return Err(e.to_string()),
            Err(e) => last = Some(reason(&e)),
        }
    }
    Err(format!(
        "{}: the artifact oci://{pinned} has no cosign signature by a key of Secret {} (spec.verify), so Flux would refuse it: {}\nnothing was pinned\nhint: sign that digest with the key whose public half is in the Secret (`cosign sign --key`, or `ferry push --key`), or correct spec.verify",
        v.object,
        v.secret,
        last.unwrap_or_else(|| "no key".into())
    ))
}

/// Checks the signature of the OCI chart `chart` (a pinned version) when `v` asks for one
/// and ferry.lock does not record it yet: the manifest its tag names now must be signed by a
/// key of the Secret and hold the chart archive pinned. Records the key's fingerprint.
/// Returns whether the registry was asked.
///
/// # Errors
/// No key, offline, a refused signature, a tag that moved since the pin.
pub fn verify_chart(
    chart: &ChartRef,
    lock: &mut Lock,
    v: &KeyedVerify,
    (flags, offline): (&FlagKeys, bool),
) -> Result<bool, VendorError> {
    let ChartRef::Oci { url, version } = chart else {
        return Ok(false);
    };
    let key = chart.lock_key().unwrap_or_default();
    let Some(pin) = lock.charts.get(&key) else {
        return Err(VendorError::NotLocked { chart: key });
    };
    match satisfied(v, &pin.digest, &pin.verified_by) {
        Ok(()) => return Ok(false),
        Err(e) if offline => return Err(VendorError::Verify(e)),
        Err(_) => {}
    }
    let keys = keys_for(v, flags).map_err(VendorError::Verify)?;
    let fail = |message: String| VendorError::Fetch {
        chart: key.clone(),
        message,
    };
    // helm pushes `1.0.0+build` as the tag `1.0.0_build`.
    let r = ArtifactRef::parse(&format!("{url}:{}", version.replace('+', "_")))
        .map_err(|e| fail(e.to_string()))?;
    let reg = super::oci_source::connect(&r, "verifying a chart").map_err(fail)?;
    let (bytes, digest) = reg.manifest(&r).map_err(|e| fail(e.to_string()))?;
    let manifest = Manifest::parse(&bytes).map_err(fail)?;
    if !manifest.layers.iter().any(|l| l.digest == pin.digest) {
        return Err(VendorError::Changed {
            chart: key,
            pinned: pin.digest.clone(),
            fetched: format!("a manifest {digest} without that chart archive"),
        });
    }
    let fp =
        verify(&reg, &r.with_digest(&digest), &digest, &keys, v).map_err(VendorError::Verify)?;
    let pin = lock.charts.get_mut(&key).expect("looked up above");
    if !pin.verified_by.contains(&fp) {
        pin.verified_by.push(fp);
        pin.verified_by.sort();
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::sign::{keys::public_pem, new_signing_key};

    fn spec(keys: Option<Vec<(String, String)>>) -> KeyedVerify {
        KeyedVerify {
            object: "OCIRepository flux-system/apps (clusters/prod/sources.yaml)".into(),
            secret: "flux-system/cosign".into(),
            keys,
        }
    }

    #[test]
    fn committed_keys_win_and_missing_ones_say_what_to_do() {
        let a = new_signing_key();
        let b = new_signing_key();
        let v = spec(Some(vec![(
            "cosign.pub".into(),
            public_pem(a.verifying_key()),
        )]));
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("b.pub");
        std::fs::write(&file, public_pem(b.verifying_key())).expect("write");
        let flags =
            FlagKeys::parse(&[format!("flux-system/cosign={}", file.display())]).expect("flags");
        assert_eq!(keys_for(&v, &flags).expect("keys"), [*a.verifying_key()]);
        assert_eq!(
            keys_for(&spec(None), &flags).expect("flag"),
            [*b.verifying_key()]
        );
        let e = keys_for(&spec(None), &FlagKeys::default()).unwrap_err();
        assert!(e.starts_with("OCIRepository flux-system/apps (clusters/prod/sources.yaml): spec.verify.secretRef names Secret flux-system/cosign"), "{e}");
        assert!(
            e.contains("--verify-key flux-system/cosign=cosign.pub"),
            "{e}"
        );
        let e = keys_for(&spec(Some(vec![])), &flags).unwrap_err();
        assert!(e.contains("holds no `*.pub` key"), "{e}");
        for bad in ["cosign=x.pub", "a/b", "a/b/c=x", "/b=x"] {
            let e = FlagKeys::parse(&[bad.to_string()]).unwrap_err();
            assert!(e.contains("expected NAMESPACE/NAME=PATH"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_pin_is_satisfied_by_the_fingerprint_of_a_committed_key() {
        let a = new_signing_key();
        let v = spec(Some(vec![(
            "cosign.pub".into(),
            public_pem(a.verifying_key()),
        )]));
        let fp = fingerprint(a.verifying_key());
        assert!(fp.starts_with("sha256:") && fp.len() == 71, "{fp}");
        assert!(satisfied(&v, "sha256:d", std::slice::from_ref(&fp)).is_ok());
        let other = fingerprint(new_signing_key().verifying_key());
        let e = satisfied(&v, "sha256:d", std::slice::from_ref(&other)).unwrap_err();
        assert!(e.contains("does not record sha256:d as verified"), "{e}");
        assert!(satisfied(&v, "sha256:d", &[]).is_err());
        // The Secret not committed: the key came from the command line; any record will do.
        assert!(satisfied(&spec(None), "sha256:d", &[other]).is_ok());
        assert!(satisfied(&spec(None), "sha256:d", &[]).is_err());
        // A committed Secret without a key satisfies no record.
        let e = satisfied(&spec(Some(vec![])), "sha256:d", &[fp]).unwrap_err();
        assert!(e.contains("holds no `*.pub` key"), "{e}");
    }
}
