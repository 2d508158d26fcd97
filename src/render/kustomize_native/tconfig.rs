//! `configurations`: transformer config files that add field specs to kustomize's built-in
//! tables (`api/internal/plugins/builtinconfig`). A level sees its own files and those of
//! everything below it, as kustomize merges a sub-kustomization's config into its parent's;
//! name references gathered this way apply in the final fix-up.

use super::error::Error;
use super::fields::Reader;
use super::fieldspec::FieldSpec;
use super::kustomization::Kustomization;
use super::order::{gvk_less, DEFAULT};
use super::resource::Gvk;
use serde_json::{Map, Value};
use std::path::Path;

/// Field specs added by `configurations` files.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// (target group, version, kind) and the field that refers to it by name.
    pub name_reference: Vec<((String, String, String), FieldSpec)>,
    pub namespace: Vec<FieldSpec>,
    /// Fields besides `metadata/name` that take the name prefix, and those that take the suffix.
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    /// Added to every `labels` entry, before its selector or template specs.
    pub labels: Vec<FieldSpec>,
    /// Added to the template specs of a `labels` entry with `includeTemplates`.
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    /// Each table as kustomize's accumulator holds it (built-ins included), in
    /// [`Config::added`] order: every merge replayed as `TransformerConfig.Merge` does it
    /// (merge one by one, then sort), so a spec for one kind hides a kind-less one on its path
    /// exactly when kustomize's merge drops it.
    pub full: [Vec<FieldSpec>; 10],
}

/// Indexes into [`Config::full`].
pub const NAMESPACE: usize = 0;
pub const NAME_PREFIX: usize = 1;
pub const NAME_SUFFIX: usize = 2;
pub const COMMON_LABELS: usize = 3;
pub const LABELS: usize = 4;
pub const TEMPLATE_LABELS: usize = 5;
pub const COMMON_ANNOTATIONS: usize = 6;
pub const IMAGES: usize = 7;
pub const REPLICAS: usize = 8;
pub const VAR_REFERENCE: usize = 9;

fn push_unique<T: PartialEq>(into: &mut Vec<T>, items: Vec<T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

impl Config {
    fn added_mut(&mut self) -> [&mut Vec<FieldSpec>; 10] {
        [
            &mut self.namespace,
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.common_labels,
            &mut self.labels,
            &mut self.template_labels,
            &mut self.common_annotations,
            &mut self.images,
            &mut self.replicas,
            &mut self.var_reference,
        ]
    }

    fn added(&self) -> [&Vec<FieldSpec>; 10] {
        [
            &self.namespace,
            &self.name_prefix,
            &self.name_suffix,
            &self.common_labels,
            &self.labels,
            &self.template_labels,
            &self.common_annotations,
            &self.images,
            &self.replicas,
            &self.var_reference,
        ]
    }

    /// Builds the full tables from the added specs: merged into `base` (the built-ins, as
    /// `MakeTransformerConfig` does), or into nothing (`crds`).
    pub fn settle(mut self, base: Option<&[Vec<FieldSpec>; 10]>) -> Result<Config, String> {
        let mut full: [Vec<FieldSpec>; 10] = Default::default();
        for (i, added) in self.added().iter().enumerate() {
            let user = merge_sorted(Vec::new(), added)?;
            full[i] = match base {
                Some(base) if user.is_empty() => merge_sorted(Vec::new(), &base[i])?,
                Some(base) => merge_sorted(merge_sorted(Vec::new(), &base[i])?, &user)?,
                None => user,
            };
        }
        self.full = full;
        Ok(self)
    }

    /// kustomize merges a component's accumulator into an empty one: every table is settled
    /// into nothing again.
    pub fn resettle(&mut self) -> Result<(), String> {
        for t in self.full.iter_mut() {
            *t = merge_sorted(Vec::new(), t)?;
        }
        Ok(())
    }

    /// `ResAccumulator.MergeConfig`: `other` (a base's accumulated tables, or this level's
    /// own) merged into what this accumulator holds.
    pub fn merge(&mut self, other: Config) -> Result<(), String> {
        for (mine, theirs) in self.full.iter_mut().zip(&other.full) {
            *mine = merge_sorted(std::mem::take(mine), theirs)?;
        }
        push_unique(&mut self.name_reference, other.name_reference);
        push_unique(&mut self.namespace, other.namespace);
        push_unique(&mut self.name_prefix, other.name_prefix);
        push_unique(&mut self.name_suffix, other.name_suffix);
        push_unique(&mut self.common_labels, other.common_labels);
        push_unique(&mut self.labels, other.labels);
        push_unique(&mut self.template_labels, other.template_labels);
        push_unique(&mut self.common_annotations, other.common_annotations);
        push_unique(&mut self.images, other.images);
        push_unique(&mut self.replicas, other.replicas);
        push_unique(&mut self.var_reference, other.var_reference);
        Ok(())
    }
}

/// kustomize's `FsSlice.MergeOne`: `x` is already there when a spec on the same path has the
/// kind, group and version `x` names (an empty one names any); if that spec differs on
/// `create`, the two conflict.
pub fn merge_one(into: &mut Vec<FieldSpec>, x: FieldSpec) -> Result<(), String> {
    let named = |want: &str, have: &str| want.is_empty() || want == have;
    let same = into.iter().find(|s| {
        s.path == x.path
            && named(&x.group, &s.group)
            && named(&x.version, &s.version)
            && named(&x.kind, &s.kind)
    });
    match same {
        Some(s) if s.create != x.create => {
            Err(format!("conflicting fieldspecs for path '{}'", x.path))
        }
        Some(_) => Ok(()),
        None => {
            into.push(x);
            Ok(())
        }
    }
}

fn gvk(spec: &FieldSpec) -> Gvk {
    Gvk {
        group: spec.group.clone(),
        version: spec.version.clone(),
        kind: spec.kind.clone(),
    }
}

/// `TransformerConfig.Merge` for one table: `added` merged into `base`, then sorted by kind
/// order and group/version/kind (stably, as Go's sort keeps ties in these short tables).
fn merge_sorted(base: Vec<FieldSpec>, added: &[FieldSpec]) -> Result<Vec<FieldSpec>, String> {
    let mut out = base;
    for x in added {
        merge_one(&mut out, x.clone())?;
    }
    out.sort_by(|a, b| {
        let (a, b) = (gvk(a), gvk(b));
        if gvk_less(&DEFAULT, &a, &b) {
            std::cmp::Ordering::Less
        } else if gvk_less(&DEFAULT, &b, &a) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    Ok(out)
}

const SUPPORTED: &[&str] = &[
    "nameReference",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "templateLabels",
    "commonAnnotations",
    "images",
    "replicas",
    "varReference",
];
/// Keys kustomize knows that the native renderer does not take yet.
const NOT_YET: &[&str] = &[];

/// Reads every file `k.configurations` names; the tables are `defaults` with them merged in.
pub fn load(
    k: &Kustomization,
    dir: &Path,
    defaults: &[Vec<FieldSpec>; 10],
) -> Result<Config, Error> {
    let mut config = Config::default();
    for (i, path) in k.configurations.iter().enumerate() {
        let field = format!("configurations[{i}]");
        let bytes = super::loader::read_file(k, dir, &field, path)?;
        let file = dir.join(path);
        let text = String::from_utf8(bytes).map_err(|_| Error::Parse {
            file: file.clone(),
            message: "not UTF-8 text".into(),
        })?;
        let one = parse(&file, &text)?;
        push_unique(&mut config.name_reference, one.name_reference.clone());
        for (mine, theirs) in config.added_mut().into_iter().zip(one.added()) {
            push_unique(mine, theirs.clone());
        }
    }
    config
        .settle(Some(defaults))
        .map_err(|message| Error::Field {
            file: k.file.clone(),
            field: "configurations".into(),
            message,
        })
}

fn parse(file: &Path, text: &str) -> Result<Config, Error> {
    let docs = crate::manifest::parse_documents(text).map_err(|e| Error::Parse {
        file: file.to_path_buf(),
        message: format!("invalid transformer configuration: {e}"),
    })?;
    let map = match docs.as_slice() {
        [] => Map::new(),
        [Value::Object(m)] => m.clone(),
        _ => {
            return Err(Error::Parse {
                file: file.to_path_buf(),
                message: "a transformer configuration is one mapping of field spec lists".into(),
            })
        }
    };
    // Read through sigs.k8s.io/yaml as a kustomization is, so keys fold case the same way.
    let names: Vec<&str> = SUPPORTED.iter().chain(NOT_YET).copied().collect();
    let map = super::jsonkeys::canonical(&map, &names);
    let r = Reader { file, map: &map };
    for key in map.keys() {
        if NOT_YET.contains(&key.as_str()) {
            return Err(Error::Unsupported {
                file: file.to_path_buf(),
                field: key.clone(),
                hint: "render this app with `renderer: binary` meanwhile".into(),
            });
        }
        if !SUPPORTED.contains(&key.as_str()) {
            return Err(r.field_error(key, "unknown field in a transformer configuration"));
        }
    }
    let mut config = Config {
        namespace: specs(&r, "namespace", map.get("namespace"))?,
        name_prefix: specs(&r, "namePrefix", map.get("namePrefix"))?,
        name_suffix: specs(&r, "nameSuffix", map.get("nameSuffix"))?,
        common_labels: specs(&r, "commonLabels", map.get("commonLabels"))?,
        labels: specs(&r, "labels", map.get("labels"))?,
        template_labels: specs(&r, "templateLabels", map.get("templateLabels"))?,
        common_annotations: specs(&r, "commonAnnotations", map.get("commonAnnotations"))?,
        images: specs(&r, "images", map.get("images"))?,
        replicas: specs(&r, "replicas", map.get("replicas"))?,
        var_reference: specs(&r, "varReference", map.get("varReference"))?,
        ..Config::default()
    };
    for (i, item) in r.list("nameReference")?.iter().enumerate() {
        let field = format!("nameReference[{i}]");
        let m = r.entry(&field, item, &["group", "version", "kind", "fieldSpecs"])?;
        let target = (
            r.entry_string(&field, m, "group")?,
            r.entry_string(&field, m, "version")?,
            r.entry_string(&field, m, "kind")?,
        );
        for spec in specs(&r, &format!("{field}.fieldSpecs"), m.get("fieldSpecs"))? {
            config.name_reference.push((target.clone(), spec));
        }
    }
    Ok(config)
}

fn specs(r: &Reader<'_>, field: &str, v: Option<&Value>) -> Result<Vec<FieldSpec>, Error> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(r.field_error(field, "expected a list of field specs")),
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let m = r.entry(&at, item, &["group", "version", "kind", "path", "create"])?;
        let path = r.entry_string(&at, m, "path")?;
        if path.is_empty() {
            return Err(r.field_error(&format!("{at}.path"), "a field spec needs a path"));
        }
        out.push(FieldSpec {
            group: r.entry_string(&at, m, "group")?,
            version: r.entry_string(&at, m, "version")?,
            kind: r.entry_string(&at, m, "kind")?,
            path,
            create: r.entry_bool(&at, m, "create")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_references_and_namespace_specs() {
        let text = "nameReference:\n- kind: Service\n  version: v1\n  fieldSpecs:\n  - kind: X\n    path: spec/svc\nnamespace:\n- kind: X\n  path: spec/ns\n  create: true\n";
        let c = parse(Path::new("c.yaml"), text).expect("parses");
        assert_eq!(c.name_reference.len(), 1);
        assert_eq!(c.name_reference[0].0 .2, "Service");
        assert_eq!(c.name_reference[0].1.path, "spec/svc");
        assert_eq!(
            c.namespace,
            vec![FieldSpec::new("", "", "X", "spec/ns", true)]
        );
    }

    #[test]
    fn unknown_keys_are_errors_and_keys_fold_case() {
        let err = parse(Path::new("c.yaml"), "bogus: []\n").expect_err("unknown");
        assert!(err.to_string().contains("bogus"), "{err}");
        let c = parse(Path::new("c.yaml"), "VARREFERENCE:\n- path: spec/x\n").expect("folds");
        assert_eq!(
            c.var_reference,
            vec![FieldSpec::new("", "", "", "spec/x", false)]
        );
    }

    #[test]
    fn a_spec_for_one_kind_hides_the_kindless_default_on_its_path() {
        let mut defaults: [Vec<FieldSpec>; 10] = Default::default();
        defaults[NAME_PREFIX] = vec![FieldSpec::new("", "", "", "metadata/name", false)];
        let bar = FieldSpec::new("", "", "Bar", "metadata/name", false);
        let own = Config {
            name_prefix: vec![bar.clone()],
            ..Config::default()
        }
        .settle(Some(&defaults))
        .expect("settles");
        // Merged after the built-ins, the Bar spec only adds.
        assert_eq!(own.full[NAME_PREFIX].len(), 2);
        // Merged into an empty accumulator, sorted Bar first, the kind-less one is its
        // duplicate and goes.
        let mut acc = Config::default();
        acc.merge(own.clone()).expect("merges");
        assert_eq!(acc.full[NAME_PREFIX], vec![bar]);
        // An accumulator that got the built-ins first keeps both.
        let plain = Config::default().settle(Some(&defaults)).expect("settles");
        let mut acc = Config::default();
        acc.merge(plain).expect("merges");
        acc.merge(own).expect("merges");
        assert_eq!(acc.full[NAME_PREFIX].len(), 2);
        let conflict = Config {
            name_prefix: vec![FieldSpec::new("", "", "", "metadata/name", true)],
            ..Config::default()
        };
        assert!(conflict.settle(Some(&defaults)).is_err());
    }
}
