//! `buildMetadata: [originAnnotations, transformerAnnotations]`: where each object came from
//! (`config.kubernetes.io/origin`: the file, or the generator and the kustomization that
//! configured it) and which transformers ran over it since (`alpha.config.kubernetes.io/
//! transformations`). kustomize tracks both whenever the top kustomization has any
//! `buildMetadata`; every transformer a level configures is recorded on every object the
//! level holds after it ran, touched or not. Paths are relative to the top kustomization's
//! directory. Kept in the annotations during the build, as kustomize keeps them.

use super::kustomization::Kustomization;
use super::resource::Resource;
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};

/// kustomize's `resource.Origin`, without the remote fields ferry never fills.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    path: String,
    configured_in: String,
    /// apiVersion, kind, name, namespace of the generator or transformer config.
    by: Option<[String; 4]>,
}

thread_local! {
    /// The top kustomization's directory while tracking is on.
    static ROOT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Starts a build: tracking is on when the top kustomization has `buildMetadata`.
pub fn begin(top: &Kustomization, root: &Path) {
    let on = !top.build_metadata.is_empty();
    ROOT.with(|r| *r.borrow_mut() = on.then(|| root.to_path_buf()));
}

pub fn enabled() -> bool {
    ROOT.with(|r| r.borrow().is_some())
}

/// `file` relative to the top directory, as `filepath.Join` of the entries leading to it.
fn relative(file: &Path) -> String {
    let root = ROOT.with(|r| r.borrow().clone()).unwrap_or_default();
    let file = super::files::canonical(file).unwrap_or_else(|_| file.to_path_buf());
    let base: Vec<Component> = root.components().collect();
    let target: Vec<Component> = file.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for c in &target[common..] {
        out.push(c);
    }
    out.to_string_lossy().into_owned()
}

/// A resource read from `file`.
pub fn from_file(file: &Path) -> Origin {
    Origin {
        path: relative(file),
        ..Origin::default()
    }
}

/// A builtin generator or transformer a kustomization field configures.
pub fn builtin(k: &Kustomization, kind: &str) -> Origin {
    Origin {
        configured_in: relative(&k.file),
        by: Some(["builtin".into(), kind.into(), String::new(), String::new()]),
        ..Origin::default()
    }
}

/// A plugin configuration (`generators:`, `transformers:`) read from its file or, inline,
/// from the kustomization.
pub fn plugin(cfg: &Resource) -> Origin {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Origin {
        configured_in: relative(&cfg.file),
        by: Some([
            text(&cfg.value["apiVersion"]),
            text(&cfg.value["kind"]),
            text(&cfg.value["metadata"]["name"]),
            text(&cfg.value["metadata"]["namespace"]),
        ]),
        ..Origin::default()
    }
}

fn annotations(res: &mut Resource) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
    let meta = res.value.get_mut("metadata")?.as_object_mut()?;
    let a = meta
        .entry("annotations")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if !a.is_object() {
        *a = serde_json::Value::Object(Default::default());
    }
    a.as_object_mut()
}

fn has_origin(res: &Resource) -> bool {
    res.value["metadata"]["annotations"]
        .get(ORIGIN_KEY)
        .is_some()
}

/// Gives the resources from `from` on that have none the origin `origin`. Origins and
/// transformations live in the annotations during the build, as in kustomize, where a
/// patch replacing `metadata/annotations` drops them.
pub fn set_new(acc: &mut [Resource], from: usize, origin: impl Fn(&Resource) -> Origin) {
    if !enabled() {
        return;
    }
    for res in acc.iter_mut().skip(from) {
        if !has_origin(res) {
            let text = origin(res).to_yaml("");
            if let Some(a) = annotations(res) {
                a.insert(ORIGIN_KEY.into(), serde_json::Value::String(text));
            }
        }
    }
}

/// A generator merging into `old` keeps `old`'s origin, if it has one (kustomize saves it
/// before the merge, whose annotations would take the generator's, and puts it back).
pub fn keep_on_merge(res: &mut Resource, old: &Resource) {
    let Some(origin) = old.value["metadata"]["annotations"]
        .get(ORIGIN_KEY)
        .cloned()
    else {
        return;
    };
    if let Some(a) = annotations(res) {
        a.insert(ORIGIN_KEY.into(), origin);
    }
}

/// kustomize's `AddTransformerAnnotation`, `times` over: the transformer becomes the origin
/// of an object without one, and a transformation of the others.
pub fn record(acc: &mut [Resource], origin: impl Fn() -> Origin, times: usize) {
    if !enabled() || times == 0 {
        return;
    }
    let origin = origin();
    let (as_origin, as_item) = (origin.to_yaml(""), origin.to_yaml("- "));
    for res in acc.iter_mut() {
        for _ in 0..times {
            let had = has_origin(res);
            let Some(a) = annotations(res) else { break };
            if !had {
                a.insert(
                    ORIGIN_KEY.into(),
                    serde_json::Value::String(as_origin.clone()),
                );
                continue;
            }
            let mut list = a
                .get(TRANSFORMATIONS_KEY)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string();
            list.push_str(&as_item);
            a.insert(TRANSFORMATIONS_KEY.into(), serde_json::Value::String(list));
        }
    }
}

const ORIGIN_KEY: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS_KEY: &str = "alpha.config.kubernetes.io/transformations";

/// Removes the annotations the top kustomization's `buildMetadata` does not ask for; an
/// emptied `annotations` goes, as kyaml's `SetAnnotations` clears it.
pub fn annotate(top: &Kustomization, resources: &mut [Resource]) {
    if !enabled() {
        return;
    }
    let keep = |option: &str| top.build_metadata.iter().any(|o| o == option);
    let mut drop = Vec::new();
    if !keep("originAnnotations") {
        drop.push(ORIGIN_KEY);
    }
    if !keep("transformerAnnotations") {
        drop.push(TRANSFORMATIONS_KEY);
    }
    if drop.is_empty() {
        return;
    }
    for res in resources {
        let Some(meta) = res
            .value
            .get_mut("metadata")
            .and_then(|m| m.as_object_mut())
        else {
            continue;
        };
        let Some(serde_json::Value::Object(a)) = meta.get_mut("annotations") else {
            continue;
        };
        let mut removed = false;
        for key in &drop {
            removed |= a.remove(*key).is_some();
        }
        if removed && a.is_empty() {
            meta.remove("annotations");
        }
    }
}

impl Origin {
    /// As kyaml marshals it (fields in struct order, empty ones left out); `item` starts a
    /// list element.
    fn to_yaml(&self, item: &str) -> String {
        let indent = " ".repeat(item.len());
        let mut lines: Vec<String> = Vec::new();
        if !self.path.is_empty() {
            lines.push(format!("path: {}", scalar(&self.path)));
        }
        if !self.configured_in.is_empty() {
            lines.push(format!("configuredIn: {}", scalar(&self.configured_in)));
        }
        if let Some(by) = &self.by {
            lines.push("configuredBy:".into());
            for (key, v) in ["apiVersion", "kind", "name", "namespace"].iter().zip(by) {
                if !v.is_empty() {
                    lines.push(format!("  {key}: {}", scalar(v)));
                }
            }
        }
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            out.push_str(if i == 0 { item } else { &indent });
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// A string as go-yaml v3 writes it: plain when it reads back as the same string.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([' ', ':'])
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}
