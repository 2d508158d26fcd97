//! Reading one `out/<env>` directory through its `index.json`: every object keyed by its
//! identity, with its app and its bytes. Objects are parsed later, and only those that differ.

use crate::build::integrity::{self, IntegrityError};
use crate::build::INDEX_FILE;
use crate::manifest::{parse_documents, ObjRef, Object};
use crate::tenancy::TenantIdentity;
use rayon::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not what `ferry build` wrote (the check `apply` and `push` run too).
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    #[error("{} is not a ferry build index: {message}", file.display())]
    Index { file: PathBuf, message: String },
    #[error("{object} is listed twice in {} (apps `{first}` and `{second}`)", file.display())]
    Duplicate {
        file: PathBuf,
        object: String,
        first: String,
        second: String,
    },
    #[error("{}: {message}", file.display())]
    Object { file: PathBuf, message: String },
}

/// One object of a build, not parsed yet.
#[derive(Debug, Clone)]
pub struct Entry {
    pub app: String,
    /// The tenant whose app renders it, as `index.json` records it; `None`: the platform's.
    pub tenant: Option<String>,
    pub api_version: String,
    /// Relative to the build directory.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub digest: [u8; 32],
    pub bytes: Vec<u8>,
}

/// One environment's build, as written by `ferry build`.
#[derive(Debug, Clone, Default)]
pub struct Build {
    pub dir: PathBuf,
    pub environment: String,
    /// The revision the build was made from, as `index.json` records it.
    pub revision: Option<String>,
    pub objects: BTreeMap<ObjRef, Entry>,
    /// The tenants `index.json` describes (those with apps in this environment): who each
    /// applies as and where its inventory is.
    pub tenants: BTreeMap<String, TenantIdentity>,
}

impl Build {
    /// An environment that does not exist on one side: everything on the other side is added
    /// or removed.
    pub fn empty(environment: &str) -> Build {
        Build {
            environment: environment.to_string(),
            ..Build::default()
        }
    }
}

/// Reads a build directory. Every file is checked against its digest in the index, so a diff
/// never reports on a directory someone edited by hand as if ferry had built it.
///
/// # Errors
/// See [`LoadError`].
pub fn load_dir(dir: &Path) -> Result<Build, LoadError> {
    let index_path = dir.join(INDEX_FILE);
    let (index, _) = integrity::read_index(dir)?;
    let mut listed = Vec::new();
    for (app, a) in &index.apps {
        for o in &a.objects {
            let obj = ObjRef {
                group: o
                    .api_version
                    .split_once('/')
                    .map(|(g, _)| g.to_string())
                    .unwrap_or_default(),
                kind: o.kind.clone(),
                namespace: o.namespace.clone().unwrap_or_default(),
                name: o.name.clone(),
            };
            integrity::check_path(dir, &obj.to_string(), &o.path)?;
            let path = o.path.clone();
            let digest = o
                .digest
                .strip_prefix("sha256:")
                .and_then(|h| hex::decode(h).ok())
                .and_then(|d| <[u8; 32]>::try_from(d).ok())
                .ok_or_else(|| LoadError::Index {
                    file: index_path.clone(),
                    message: format!(
                        "{obj} has digest `{}`, expected sha256:<64 hex digits>",
                        o.digest
                    ),
                })?;
            listed.push((
                obj,
                (app.clone(), a.tenant.clone()),
                o.api_version.clone(),
                path,
                o.digest.clone(),
                digest,
            ));
        }
    }
    let read: Vec<(ObjRef, Entry)> = listed
        .into_par_iter()
        .map(
            |(obj, (app, tenant), api_version, path, listed_digest, digest)| {
                let bytes = integrity::read_object(dir, &path, &listed_digest)?;
                Ok::<_, LoadError>((
                    obj,
                    Entry {
                        app,
                        tenant,
                        api_version,
                        path,
                        digest,
                        bytes,
                    },
                ))
            },
        )
        .collect::<Result<_, _>>()?;
    let mut objects = BTreeMap::new();
    for (obj, entry) in read {
        if let Some(first) = objects.get(&obj).map(|e: &Entry| e.app.clone()) {
            return Err(LoadError::Duplicate {
                file: index_path,
                object: obj.to_string(),
                first,
                second: entry.app,
            });
        }
        objects.insert(obj, entry);
    }
    Ok(Build {
        dir: dir.to_path_buf(),
        environment: index.environment,
        revision: index.source.revision,
        objects,
        tenants: index.tenants,
    })
}

impl Entry {
    /// Parses the object and checks it is the one the index names. With `secret` set, parser
    /// messages are left out of errors: they may quote the text they choke on.
    pub fn parse(&self, build: &Build, obj: &ObjRef, secret: bool) -> Result<Value, LoadError> {
        let file = build.dir.join(&self.path);
        let err = |message: String| LoadError::Object {
            file: file.clone(),
            message,
        };
        let text = std::str::from_utf8(&self.bytes).map_err(|_| err("not UTF-8 text".into()))?;
        let mut docs = parse_documents(text).map_err(|e| {
            if secret {
                err(format!(
                    "{obj} is not valid YAML{} (details withheld: it holds secret values)",
                    e.line
                        .map(|l| format!(" near line {l}"))
                        .unwrap_or_default()
                ))
            } else {
                err(format!("not valid YAML: {e}"))
            }
        })?;
        if docs.len() != 1 {
            return Err(err(format!(
                "expected exactly one object, found {}",
                docs.len()
            )));
        }
        let value = docs.pop().unwrap_or_default();
        let parsed = Object::from_value(value).map_err(|e| err(e.to_string()))?;
        if &parsed.obj_ref() != obj {
            // The identity found is withheld for secrets: a mangled file may have a value there.
            let found = if secret {
                "another object".to_string()
            } else {
                parsed.obj_ref().to_string()
            };
            return Err(err(format!(
                "holds {found}, but index.json lists {obj} at this path"
            )));
        }
        Ok(parsed.into_value())
    }
}
