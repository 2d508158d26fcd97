//! The JSON documents of an artifact (manifest, config), written byte-for-byte the same for the
//! same input so that the manifest digest is reproducible, and read back with checks.

use super::media_types as mt;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An OCI descriptor for a blob.
pub fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": digest_of(blob), "size": blob.len()})
}

/// What the manifest says about where an artifact comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// `org.opencontainers.image.source`: the repository URL or path.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`: `<branch>@sha1:<commit>`.
    pub revision: Option<String>,
    /// `org.opencontainers.image.created`: the commit time, RFC 3339.
    pub created: Option<String>,
}

impl Provenance {
    fn annotations(&self) -> BTreeMap<&'static str, &str> {
        let mut a = BTreeMap::new();
        for (k, v) in [
            (mt::ANNOTATION_CREATED, &self.created),
            (mt::ANNOTATION_REVISION, &self.revision),
            (mt::ANNOTATION_SOURCE, &self.source),
        ] {
            if let Some(v) = v {
                a.insert(k, v.as_str());
            }
        }
        a
    }
}

/// The config blob, shaped like the one `flux push artifact` writes (an empty image config with
/// the creation time and the layer's uncompressed digest).
pub fn flux_config(created: Option<&str>, tar_digest: &str) -> Vec<u8> {
    let mut v = Map::new();
    v.insert("architecture".into(), json!(""));
    // Go's zero time when there is no commit time: never the clock, or digests would drift.
    v.insert(
        "created".into(),
        json!(created.unwrap_or("0001-01-01T00:00:00Z")),
    );
    v.insert(
        "history".into(),
        json!([{"created": "0001-01-01T00:00:00Z"}]),
    );
    v.insert("os".into(), json!(""));
    v.insert(
        "rootfs".into(),
        json!({"type": "layers", "diff_ids": [tar_digest]}),
    );
    v.insert("config".into(), json!({}));
    serde_json::to_vec(&Value::Object(v)).expect("config serialises")
}

/// The artifact manifest: one Flux content layer, the Flux config, provenance annotations, and
/// the OCI 1.1 `artifactType`, so registries and `oras discover` list it as a Flux artifact.
/// Its value is the config media type, which OCI 1.1 readers already take as the type when the
/// field is absent; Flux's source-controller reads only the layers (go-containerregistry skips
/// fields it does not use, and the digest is over the bytes), so Flux accepts it unchanged.
pub fn flux_manifest(config: &[u8], layer: &[u8], provenance: &Provenance) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("schemaVersion".into(), json!(2));
    m.insert("mediaType".into(), json!(mt::OCI_MANIFEST));
    m.insert("artifactType".into(), json!(mt::FLUX_CONFIG));
    m.insert("config".into(), descriptor(mt::FLUX_CONFIG, config));
    m.insert(
        "layers".into(),
        json!([descriptor(mt::FLUX_CONTENT, layer)]),
    );
    let annotations = provenance.annotations();
    if !annotations.is_empty() {
        m.insert("annotations".into(), json!(annotations));
    }
    serde_json::to_vec(&Value::Object(m)).expect("manifest serialises")
}

/// A descriptor read from a manifest.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest read from a registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses manifest bytes; `what` names them in errors.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not an OCI image manifest: {e}"))?;
        if m.schema_version != 2 {
            return Err(format!("schemaVersion {} is not 2", m.schema_version));
        }
        if let Some(t) = &m.media_type {
            if t != mt::OCI_MANIFEST && t != "application/vnd.docker.distribution.manifest.v2+json"
            {
                return Err(format!("manifest media type {t} is not an image manifest"));
            }
        }
        Ok(m)
    }

    pub fn provenance(&self) -> Provenance {
        let get = |k: &str| self.annotations.get(k).cloned();
        Provenance {
            source: get(mt::ANNOTATION_SOURCE),
            revision: get(mt::ANNOTATION_REVISION),
            created: get(mt::ANNOTATION_CREATED),
        }
    }

    /// The layer Flux would take: the first with the Flux content media type.
    pub fn flux_layer(&self) -> Option<&Descriptor> {
        self.layers
            .iter()
            .find(|l| l.media_type == mt::FLUX_CONTENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_shape_and_round_trip() {
        let config = flux_config(Some("2026-01-02T03:04:05Z"), "sha256:aa");
        assert_eq!(
            String::from_utf8(config.clone()).expect("utf8"),
            r#"{"architecture":"","created":"2026-01-02T03:04:05Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"config":{}}"#
        );
        let prov = Provenance {
            source: Some("https://git.example/x".into()),
            revision: Some("main@sha1:abc".into()),
            created: Some("2026-01-02T03:04:05Z".into()),
        };
        let bytes = flux_manifest(&config, b"layer", &prov);
        let m = Manifest::parse(&bytes).expect("parse");
        assert_eq!(m.config.media_type, mt::FLUX_CONFIG);
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["artifactType"], mt::FLUX_CONFIG);
        assert_eq!(m.flux_layer().expect("layer").digest, digest_of(b"layer"));
        assert_eq!(m.provenance(), prov);
        assert_eq!(
            bytes,
            flux_manifest(&config, b"layer", &prov),
            "same input, same bytes"
        );
    }
}
