//! The Go objects templates reach through `.Capabilities` and `.Files`, with their fields and
//! methods (`.Capabilities.APIVersions.Has`, `.Capabilities.KubeVersion.Version`,
//! `.Files.Get`).

use gotmpl::{Elem, Func, Object, Signature, Type, Value};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

/// What `helm version` of the release ferry matches reports (`.Capabilities.HelmVersion`).
pub const HELM_VERSION: &str = "v4.1.4";
const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const HELM_GO_VERSION: &str = "go1.25.9";
const HELM_KUBE_CLIENT: &str = "v1.35";
/// helm 4.1.4's `--kube-version` default (client-go v0.35 plus one major).
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// Helm's `DefaultVersionSet`: the group/versions client-go's scheme knows, in its order.
const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `common.KubeVersion` from a `--kube-version` text (`1.31.0`, `v1.31`).
#[derive(Debug, Clone)]
pub struct KubeVersion {
    pub version: String,
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// Parses as `k8s.io/apimachinery` `ParseGeneric` does: `[v]MAJOR.MINOR[.PATCH]`, with
    /// anything after the numbers ignored for the normalized form.
    pub fn parse(text: &str) -> Result<KubeVersion, String> {
        let bare = text.strip_prefix('v').unwrap_or(text);
        let end = bare
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(bare.len());
        let nums: Vec<&str> = bare[..end].split('.').collect();
        let bad = || format!("invalid kube version '{text}': could not parse {text:?} as version");
        if nums.len() < 2 || nums.len() > 3 || nums.iter().any(|n| n.is_empty()) {
            return Err(bad());
        }
        let parsed: Vec<u64> = nums
            .iter()
            .map(|n| n.parse::<u64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let patch = parsed.get(2).copied().unwrap_or(0);
        let version = if text.starts_with('v') {
            text.to_string()
        } else {
            format!("v{text}")
        };
        Ok(KubeVersion {
            version,
            normalized: format!("v{}.{}.{patch}", parsed[0], parsed[1]),
            major: parsed[0].to_string(),
            minor: parsed[1].to_string(),
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::str(&self.version)),
            "Major" => Some(Value::str(&self.major)),
            "Minor" => Some(Value::str(&self.minor)),
            _ => None,
        }
    }
    fn method(&self, name: &str) -> Option<Func> {
        let text = match name {
            "String" => self.normalized.clone(),
            "GitVersion" => self.version.clone(),
            _ => return None,
        };
        Some(Func::pure(Signature::fixed(&[]), move |_| {
            Ok(Value::str(&text))
        }))
    }
    fn display(&self) -> String {
        self.normalized.clone()
    }
}

/// `common.VersionSet`: the API versions a chart may ask for with `Has`.
#[derive(Debug, Clone)]
pub struct VersionSet(pub Arc<Vec<String>>);

impl VersionSet {
    pub fn with_extra(extra: &[String]) -> VersionSet {
        let mut v: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        v.extend(extra.iter().cloned());
        VersionSet(Arc::new(v))
    }
}

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn method(&self, name: &str) -> Option<Func> {
        if name != "Has" {
            return None;
        }
        let set = self.0.clone();
        Some(Func::pure(Signature::fixed(&[Type::String]), move |a| {
            let want = a[0].as_str().unwrap_or_default();
            Ok(Value::Bool(set.iter().any(|v| v == want)))
        }))
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}

#[derive(Debug)]
struct HelmVersion;

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::str(match name {
            "Version" => HELM_VERSION,
            "GitCommit" => HELM_GIT_COMMIT,
            "GitTreeState" => "clean",
            "GoVersion" => HELM_GO_VERSION,
            "KubeClientVersion" => HELM_KUBE_CLIENT,
            _ => return None,
        }))
    }
    fn display(&self) -> String {
        format!("{{{HELM_VERSION} {HELM_GIT_COMMIT} clean {HELM_GO_VERSION} {HELM_KUBE_CLIENT}}}")
    }
}

/// `*common.Capabilities`.
#[derive(Debug)]
pub struct Capabilities {
    pub kube: KubeVersion,
    pub apis: VersionSet,
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(self.kube.clone()))),
            "APIVersions" => Some(Value::Object(Rc::new(self.apis.clone()))),
            "HelmVersion" => Some(Value::Object(Rc::new(HelmVersion))),
            _ => None,
        }
    }
}

/// `engine.files`: a chart's other files by name.
#[derive(Debug, Clone)]
pub struct Files(pub Arc<BTreeMap<String, Vec<u8>>>);

fn text(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    }
}

impl Files {
    fn as_yaml(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let mut m = serde_json::Map::new();
        for (k, v) in self.0.iter() {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), serde_json::Value::String(encode(v)));
        }
        let out = crate::goyaml::to_yaml(&serde_json::Value::Object(m));
        out.strip_suffix('\n').unwrap_or(&out).to_string()
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn method(&self, name: &str) -> Option<Func> {
        let files = self.0.clone();
        let one = Signature::fixed(&[Type::String]);
        let none = Signature::fixed(&[]);
        Some(match name {
            "Get" | "GetBytes" => Func::pure(one, move |a| {
                let name = a[0].as_str().unwrap_or_default();
                Ok(Value::str(
                    &files.get(name).map(|d| text(d)).unwrap_or_default(),
                ))
            }),
            "Lines" => Func::pure(one, move |a| {
                let name = a[0].as_str().unwrap_or_default();
                let Some(data) = files.get(name) else {
                    return Ok(Value::List(Elem::String, Rc::new(Vec::new())));
                };
                let mut s = text(data);
                if s.ends_with('\n') {
                    s.pop();
                }
                let lines = s.split('\n').map(Value::str).collect();
                Ok(Value::List(Elem::String, Rc::new(lines)))
            }),
            "Glob" => Func::pure(one, move |a| {
                let pattern = a[0].as_str().unwrap_or_default();
                let picked: BTreeMap<String, Vec<u8>> = files
                    .iter()
                    .filter(|(k, _)| super::glob::files_glob(pattern, k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Ok(Value::Object(Rc::new(Files(Arc::new(picked)))))
            }),
            "AsConfig" => Func::pure(none, move |_| {
                Ok(Value::str(&Files(files.clone()).as_yaml(text)))
            }),
            "AsSecrets" => Func::pure(none, move |_| {
                use base64::Engine;
                Ok(Value::str(&Files(files.clone()).as_yaml(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }),
            _ => return None,
        })
    }
    fn range_entries(&self) -> Option<Vec<(String, Value)>> {
        // Each value is Go's `[]byte`.
        Some(
            self.0
                .iter()
                .map(|(k, v)| {
                    let bytes = v.iter().map(|b| Value::Uint8(*b)).collect();
                    (k.clone(), Value::list(bytes))
                })
                .collect(),
        )
    }
    fn display(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}:{v:?}")).collect();
        format!("map[{}]", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_version_parses_as_helm() {
        let k = KubeVersion::parse("1.31.0").unwrap();
        assert_eq!(
            (&*k.version, &*k.normalized, &*k.major, &*k.minor),
            ("v1.31.0", "v1.31.0", "1", "31")
        );
        let k = KubeVersion::parse("v1.30").unwrap();
        assert_eq!(k.normalized, "v1.30.0");
        assert!(KubeVersion::parse("banana").is_err());
    }
}
