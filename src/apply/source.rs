//! Where the objects to apply come from: a built `out/<env>` directory now, a pulled and
//! verified OCI artifact through [`Puller`], and sealed Secrets opened in memory by a [`Decryptor`].

use crate::build::integrity::{self, IntegrityError};
use crate::manifest::{parse_documents, ObjRef, Object};
use crate::tenancy::TenantIdentity;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What one run applies.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub environment: String,
    /// `sha256:...`: of the OCI manifest for a pulled artifact, of `index.json` for a directory.
    pub digest: String,
    /// The source revision (`main@sha1:...`), when the build knew it.
    pub revision: Option<String>,
    /// Every object, the tenants' included.
    pub objects: Vec<Object>,
    /// The tenants whose apps are in the artifact, and which of `objects` are theirs: those are
    /// applied as the tenant (see [`super::tenants`]), every other object is the platform's.
    pub tenants: BTreeMap<String, TenantMembers>,
    /// What a Flux build's Kustomizations ask to wait for (`wait`, `healthChecks`), when
    /// `--wait` does not ask for everything.
    pub wait: Option<WaitPlan>,
}

/// Objects to wait for after applying, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPlan {
    pub objects: BTreeSet<ObjRef>,
    pub timeout: std::time::Duration,
    /// Health checks naming objects the artifact does not hold (not waited for).
    pub outside: Vec<String>,
}

/// The wait plan of a Flux build's index: every object of a Kustomization with `wait: true`,
/// and its `healthChecks` (a HelmRelease stands for the objects rendered for it, app
/// `hr.<namespace>.<name>`), waited for as long as the longest of their `timeout`s.
fn wait_plan(
    index: &crate::build::Index,
    objects: &BTreeMap<String, Vec<ObjRef>>,
) -> Result<Option<WaitPlan>, String> {
    let mut plan = WaitPlan {
        objects: BTreeSet::new(),
        timeout: std::time::Duration::ZERO,
        outside: Vec::new(),
    };
    let mut any = false;
    for (app, a) in &index.apps {
        let Some(f) = &a.flux else { continue };
        if !f.wait && f.health_checks.is_empty() {
            continue;
        }
        any = true;
        let t = crate::duration::parse_duration(&f.timeout)
            .map_err(|e| format!("app `{app}`: flux.timeout: {e}"))?;
        plan.timeout = plan.timeout.max(t);
        if f.wait {
            plan.objects
                .extend(objects.get(app).into_iter().flatten().cloned());
        }
        for h in &f.health_checks {
            let hr_app = format!("hr.{}.{}", h.namespace, h.name);
            if h.kind == "HelmRelease" && objects.contains_key(&hr_app) {
                plan.objects.extend(objects[&hr_app].iter().cloned());
                continue;
            }
            let group = h.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            let found = objects.values().flatten().find(|r| {
                r.kind == h.kind
                    && r.name == h.name
                    && r.group == group
                    && (r.namespace == h.namespace || r.namespace.is_empty())
            });
            match found {
                Some(r) => {
                    plan.objects.insert(r.clone());
                }
                None => plan.outside.push(format!(
                    "{} {}/{} (healthChecks of {})",
                    h.kind, h.namespace, h.name, f.kustomization
                )),
            }
        }
    }
    Ok(any.then_some(plan))
}

/// One tenant of an artifact: who it applies as, and its objects.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantMembers {
    pub identity: TenantIdentity,
    pub objects: BTreeSet<ObjRef>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{}: {message}", path.display())]
    Object { path: PathBuf, message: String },
    /// Not what `ferry build` wrote (the check `diff` and `push` run too).
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    #[error("{object} is SOPS-encrypted and no decryption identity is configured; hint: pass --identity FILE or set SOPS_AGE_KEY_FILE (ciphertext is never applied)")]
    SealedWithoutIdentity { object: String },
    #[error("cannot decrypt {object}: {message}")]
    Decrypt { object: String, message: String },
    #[error("cannot pull {reference}: {message}")]
    Pull { reference: String, message: String },
}

/// Opens a SOPS-sealed object in memory. Implementations return the object with its values
/// decrypted and the `sops` block removed; their errors never contain plaintext.
pub trait Decryptor: Send + Sync {
    fn decrypt(&self, object: &Object) -> Result<Object, String>;
}

/// Pulls an OCI artifact, verifying its digest and signature before anything is unpacked into
/// `into`; returns the manifest digest and the revision annotation.
pub trait Puller {
    fn pull_verified(&self, reference: &str, into: &Path) -> Result<Pulled, String>;
}

#[derive(Debug, Clone)]
pub struct Pulled {
    pub digest: String,
    pub revision: Option<String>,
}

/// An input of `ferry apply`.
pub trait ApplySource {
    /// For messages: the directory or reference.
    fn describe(&self) -> String;
    fn load(&self) -> Result<Artifact, SourceError>;
}

/// What the command line names: `oci://REF` or a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Dir(PathBuf),
    Oci(String),
}

impl SourceSpec {
    pub fn parse(s: &str) -> SourceSpec {
        match s.strip_prefix("oci://") {
            Some(r) => SourceSpec::Oci(r.to_string()),
            None => SourceSpec::Dir(PathBuf::from(s)),
        }
    }
}

/// A directory written by `ferry build`: `index.json` plus one file per object.
pub struct DirSource {
    pub dir: PathBuf,
}

impl ApplySource for DirSource {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn load(&self) -> Result<Artifact, SourceError> {
        let (index, bytes) = integrity::read_index(&self.dir)?;
        let mut objects = Vec::new();
        let mut tenants: BTreeMap<String, TenantMembers> = BTreeMap::new();
        let mut by_app: BTreeMap<String, Vec<ObjRef>> = BTreeMap::new();
        for (app_name, app) in &index.apps {
            let mut members = match &app.tenant {
                Some(t) => {
                    let identity = index.tenants.get(t).ok_or_else(|| SourceError::Object {
                        path: self.dir.join(crate::build::INDEX_FILE),
                        message: format!("app `{app_name}` belongs to tenant `{t}`, which `tenants` does not describe"),
                    })?;
                    let (ns, sa) = identity.service_account.split_once('/').unwrap_or_default();
                    if identity.namespaces.is_empty() || ns.is_empty() || sa.is_empty() {
                        return Err(SourceError::Object {
                            path: self.dir.join(crate::build::INDEX_FILE),
                            message: format!("tenant `{t}` needs namespaces and a serviceAccount `NAMESPACE/NAME`"),
                        });
                    }
                    Some(tenants.entry(t.clone()).or_insert_with(|| TenantMembers {
                        identity: identity.clone(),
                        objects: BTreeSet::new(),
                    }))
                }
                None => None,
            };
            for entry in &app.objects {
                let name = format!("{}/{}", entry.kind, entry.name);
                integrity::check_path(&self.dir, &name, &entry.path)?;
                let raw = integrity::read_object(&self.dir, &entry.path, &entry.digest)?;
                let path = self.dir.join(&entry.path);
                let obj_err = |message: String| SourceError::Object {
                    path: path.clone(),
                    message,
                };
                let text = String::from_utf8(raw).map_err(|_| obj_err("not UTF-8 text".into()))?;
                let mut docs = parse_documents(&text).map_err(|e| obj_err(e.to_string()))?;
                if docs.len() != 1 {
                    return Err(obj_err(format!(
                        "holds {} documents, expected exactly one",
                        docs.len()
                    )));
                }
                let obj = Object::from_value(docs.remove(0)).map_err(|e| obj_err(e.to_string()))?;
                if let Some(m) = members.as_mut() {
                    m.objects.insert(obj.obj_ref());
                }
                by_app
                    .entry(app_name.clone())
                    .or_default()
                    .push(obj.obj_ref());
                objects.push(obj);
            }
        }
        let wait = wait_plan(&index, &by_app).map_err(|message| SourceError::Object {
            path: self.dir.join(crate::build::INDEX_FILE),
            message,
        })?;
        Ok(Artifact {
            wait,
            environment: index.environment,
            digest: format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            revision: index.source.revision,
            objects,
            tenants,
        })
    }
}

/// An OCI artifact: pulled and verified into a private temporary directory, then read as one.
pub struct OciSource<'a> {
    pub reference: String,
    pub puller: &'a dyn Puller,
}

impl ApplySource for OciSource<'_> {
    fn describe(&self) -> String {
        format!("oci://{}", self.reference)
    }

    fn load(&self) -> Result<Artifact, SourceError> {
        let pull_err = |message: String| SourceError::Pull {
            reference: self.reference.clone(),
            message,
        };
        let dir = tempfile::tempdir().map_err(|e| pull_err(e.to_string()))?;
        let pulled = self
            .puller
            .pull_verified(&self.reference, dir.path())
            .map_err(pull_err)?;
        let mut artifact = DirSource {
            dir: dir.path().to_path_buf(),
        }
        .load()?;
        artifact.digest = pulled.digest;
        if pulled.revision.is_some() {
            artifact.revision = pulled.revision;
        }
        Ok(artifact)
    }
}

/// Whether an object still carries SOPS metadata, i.e. holds ciphertext.
pub fn is_sealed(obj: &Object) -> bool {
    obj.value().get("sops").is_some_and(Value::is_object)
}

/// Opens every sealed object in memory; without a decryptor a sealed object is an error, so
/// ciphertext is never applied as if it were the value.
pub fn unseal(
    objects: Vec<Object>,
    decryptor: Option<&dyn Decryptor>,
) -> Result<Vec<Object>, SourceError> {
    objects
        .into_iter()
        .map(|obj| {
            if !is_sealed(&obj) {
                return Ok(obj);
            }
            let name = obj.obj_ref().to_string();
            let Some(d) = decryptor else {
                return Err(SourceError::SealedWithoutIdentity { object: name });
            };
            let open = d.decrypt(&obj).map_err(|message| SourceError::Decrypt {
                object: name.clone(),
                message,
            })?;
            if is_sealed(&open) {
                return Err(SourceError::Decrypt {
                    object: name,
                    message: "the decryptor left the sops block in place".into(),
                });
            }
            Ok(open)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::INDEX_FILE;
    use serde_json::json;

    fn secret(sealed: bool) -> Object {
        let mut v = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "app"},
            "data": {"password": "ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]"}});
        if sealed {
            v["sops"] = json!({"age": [], "mac": "ENC[...]", "version": "3.11.0"});
        }
        Object::from_value(v).expect("valid")
    }

    struct Fake;
    impl Decryptor for Fake {
        fn decrypt(&self, o: &Object) -> Result<Object, String> {
            let mut v = o.value().clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("sops");
            }
            v["data"]["password"] = "aHVudGVyMg==".into();
            Object::from_value(v).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn sealed_secret_without_identity_is_an_error_naming_it() {
        let err = unseal(vec![secret(true)], None).expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("Secret/app/db"), "{msg}");
        assert!(msg.contains("--identity"), "{msg}");
        assert!(!msg.contains("ENC["), "no ciphertext in messages: {msg}");
    }

    #[test]
    fn plain_objects_pass_and_sealed_ones_are_opened() {
        let out = unseal(vec![secret(false), secret(true)], Some(&Fake)).expect("opens");
        assert!(out.iter().all(|o| !is_sealed(o)));
        assert_eq!(out[1].value()["data"]["password"], "aHVudGVyMg==");
    }

    #[test]
    fn source_spec_parses() {
        assert_eq!(
            SourceSpec::parse("oci://r.example/p/prod:latest"),
            SourceSpec::Oci("r.example/p/prod:latest".into())
        );
        assert_eq!(
            SourceSpec::parse("out/prod"),
            SourceSpec::Dir("out/prod".into())
        );
    }

    /// Stands in for the artifact module: "pulls" by writing a one-object build directory.
    struct FakePuller {
        verified: bool,
    }

    impl Puller for FakePuller {
        fn pull_verified(&self, reference: &str, into: &Path) -> Result<Pulled, String> {
            if !self.verified {
                return Err(format!("signature of {reference} does not verify"));
            }
            let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";
            std::fs::create_dir_all(into.join("app")).map_err(|e| e.to_string())?;
            std::fs::write(into.join("app/namespace_shop.yaml"), text)
                .map_err(|e| e.to_string())?;
            let index = json!({"apiVersion": "ferry.dev/v1alpha1", "kind": "BuildIndex",
                "environment": "prod",
                "source": {"revision": null, "commit": null, "branch": null, "created": null, "worktree": false},
                "apps": {"app": {"renderer": "plain", "namespace": null, "inputDigest": "sha256:00", "inputs": {},
                    "objects": [{"apiVersion": "v1", "kind": "Namespace", "name": "shop",
                        "path": "app/namespace_shop.yaml",
                        "digest": format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))}]}}});
            std::fs::write(into.join(INDEX_FILE), index.to_string()).map_err(|e| e.to_string())?;
            Ok(Pulled {
                digest: "sha256:feed".into(),
                revision: Some("main@sha1:abc".into()),
            })
        }
    }

    #[test]
    fn oci_sources_read_what_the_puller_verified() {
        let src = OciSource {
            reference: "r.example/p/prod:latest".into(),
            puller: &FakePuller { verified: true },
        };
        assert_eq!(src.describe(), "oci://r.example/p/prod:latest");
        let a = src.load().expect("loads");
        assert_eq!(
            a.digest, "sha256:feed",
            "the manifest digest, not the index's"
        );
        assert_eq!(a.revision.as_deref(), Some("main@sha1:abc"));
        assert_eq!(a.objects.len(), 1);
        let bad = OciSource {
            reference: "r.example/p/prod:latest".into(),
            puller: &FakePuller { verified: false },
        };
        let err = bad.load().expect_err("unverified artifacts are refused");
        assert!(err.to_string().contains("does not verify"), "{err}");
    }
}
