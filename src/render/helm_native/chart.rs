//! Loading a chart as Helm's v2 loader does: a directory (with `.helmignore`) or a `.tgz`,
//! `Chart.yaml`, `values.yaml`, `templates/`, subcharts under `charts/` (unpacked or archived),
//! and every other file as `.Files`.

use super::glob::Ignore;
use super::values::{read_yaml_map, Values};
use super::Error;
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// Helm's bounds on a chart archive (`MaxDecompressedChartSize`, `MaxDecompressedFileSize`).
const MAX_CHART: u64 = 100 * 1024 * 1024;
const MAX_FILE: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct File {
    pub name: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Maintainer {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dependency {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, rename = "import-values")]
    pub import_values: Vec<serde_json::Value>,
    #[serde(default)]
    pub alias: String,
}

/// `Chart.yaml` (Helm's `chart.Metadata`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub home: String,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub maintainers: Vec<Maintainer>,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub deprecated: bool,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    pub kube_version: String,
    #[serde(default)]
    pub dependencies: Option<Vec<Dependency>>,
    #[serde(default, rename = "type")]
    pub chart_type: String,
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub metadata: Metadata,
    /// `values.yaml` as read (numbers as float64 once they reach templates).
    pub values: Values,
    pub templates: Vec<File>,
    /// Everything else (`.Files`), `crds/` included.
    pub files: Vec<File>,
    pub dependencies: Vec<Chart>,
    /// `values.schema.json` as read, validated against the values before rendering.
    pub schema: Option<Vec<u8>>,
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// The files under `crds/` (Helm's `CRDObjects` of this chart only).
    pub fn crd_files(&self) -> impl Iterator<Item = &File> {
        self.files
            .iter()
            .filter(|f| f.name.starts_with("crds/") && is_yaml_or_json(&f.name))
    }
}

fn is_yaml_or_json(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json")
}

/// Loads a chart directory or `.tgz` archive.
pub fn load(path: &Path) -> Result<Chart, Error> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::Chart(format!("cannot load the chart at {}: {e}", path.display())))?;
    if meta.is_dir() {
        load_dir(path)
    } else {
        let data =
            std::fs::read(path).map_err(|e| Error::Chart(format!("{}: {e}", path.display())))?;
        load_archive(&data).map_err(|e| Error::Chart(format!("{}: {e}", path.display())))
    }
}

fn load_dir(dir: &Path) -> Result<Chart, Error> {
    let err = |m: String| Error::Chart(format!("{}: {m}", dir.display()));
    let ignore_path = dir.join(".helmignore");
    let rules = if ignore_path.is_file() {
        let text = std::fs::read_to_string(&ignore_path).map_err(|e| err(e.to_string()))?;
        Ignore::parse(&text).map_err(|m| err(format!(".helmignore: {m}")))?
    } else {
        Ignore::parse("").map_err(err)?
    }
    .with_defaults();
    let mut files = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| err(e.to_string()))?;
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = rel.to_string_lossy().replace('\\', "/");
        if name.is_empty() {
            continue;
        }
        let is_dir = entry.file_type().is_dir();
        if rules.ignored(&name, is_dir) {
            if is_dir {
                walk.skip_current_dir();
            }
            continue;
        }
        if is_dir {
            continue;
        }
        if !entry.file_type().is_file() {
            return Err(err(format!(
                "cannot load irregular file {name} as it has file mode type bits set"
            )));
        }
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_FILE {
            return Err(err(format!(
                "chart file {name:?} is larger than the maximum file size {MAX_FILE}"
            )));
        }
        let data = std::fs::read(entry.path()).map_err(|e| err(format!("{name}: {e}")))?;
        files.push(File {
            name,
            data: strip_bom(data),
        });
    }
    load_files(files).map_err(|e| with_place(e, err))
}

/// Loads a chart directory or `.tgz` archive at a repository path of `tree`, without writing
/// the tree to disk: the same files, in the same order, as [`load`] reads from a checkout.
pub fn load_from_tree(tree: &dyn crate::source::Tree, path: &str) -> Result<Chart, Error> {
    use crate::source::EntryKind;
    let err = |m: String| Error::Chart(format!("{path}: {m}"));
    match tree.entry(path) {
        None => {
            return Err(Error::Chart(format!(
                "cannot load the chart at {path}: no such file or directory in {}",
                tree.origin()
            )))
        }
        Some(EntryKind::File) => {
            let data = tree.read(path).map_err(|e| err(e.to_string()))?;
            return load_archive(&data).map_err(|e| err(e.to_string()));
        }
        Some(EntryKind::Dir) => {}
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let ignore = format!("{prefix}.helmignore");
    let rules = if tree.entry(&ignore) == Some(EntryKind::File) {
        let data = tree.read(&ignore).map_err(|e| err(e.to_string()))?;
        let text = String::from_utf8_lossy(&data);
        Ignore::parse(&text).map_err(|m| err(format!(".helmignore: {m}")))?
    } else {
        Ignore::parse("").map_err(err)?
    }
    .with_defaults();
    let mut names: Vec<String> = tree
        .files_under(path)
        .map_err(|e| err(e.to_string()))?
        .into_iter()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .collect();
    // A walk sorts each directory's entries by name: order by path components.
    names.sort_by(|a, b| a.split('/').cmp(b.split('/')));
    let mut files = Vec::new();
    // Whether each directory is ignored, decided once: every file under it asks again.
    let mut ignored_dirs: std::collections::HashMap<String, bool> = Default::default();
    for name in names {
        // An ignored directory hides everything under it, as the walk skips it.
        let mut dirs = name.match_indices('/').map(|(i, _)| &name[..i]);
        let mut dir_ignored = |d: &str| match ignored_dirs.get(d) {
            Some(&i) => i,
            None => {
                let i = rules.ignored(d, true);
                ignored_dirs.insert(d.to_string(), i);
                i
            }
        };
        if dirs.any(&mut dir_ignored) || rules.ignored(&name, false) {
            continue;
        }
        let data = tree
            .read(&format!("{prefix}{name}"))
            .map_err(|e| err(format!("{name}: {e}")))?;
        if data.len() as u64 > MAX_FILE {
            return Err(err(format!(
                "chart file {name:?} is larger than the maximum file size {MAX_FILE}"
            )));
        }
        files.push(File {
            name,
            data: strip_bom(data),
        });
    }
    load_files(files).map_err(|e| with_place(e, err))
}

/// A chart error under the name of the directory it was read from.
fn with_place(e: Error, err: impl Fn(String) -> Error) -> Error {
    match e {
        Error::Chart(m) => err(m),
        e => e,
    }
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(b"\xEF\xBB\xBF") {
        data.drain(..3);
    }
    data
}

/// The files of a chart archive, named relative to its top directory; paths that leave the
/// chart are refused as Helm refuses them.
fn archive_files(data: &[u8]) -> Result<Vec<File>, String> {
    let gz = flate2::read::GzDecoder::new(data);
    let mut tar = tar::Archive::new(gz);
    let mut files = Vec::new();
    let mut remaining = MAX_CHART;
    let entries = tar
        .entries()
        .map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a gzip-compressed tar archive: {e}"))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).to_string();
        let delim = if raw.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = raw.split(delim).collect();
        let n = parts[1..].join("/");
        if n.starts_with('/') {
            return Err("chart illegally contains absolute paths".into());
        }
        let n = gotmpl::sprig::clean_path(&n);
        if n == "." {
            return Err(format!(
                "chart illegally contains content outside the base directory: {raw:?}"
            ));
        }
        if n.starts_with("..") {
            return Err("chart illegally references parent directory".into());
        }
        let b = n.as_bytes();
        if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
            return Err("chart contains illegally named files".into());
        }
        if parts[0] == "Chart.yaml" {
            return Err("chart yaml not in base directory".into());
        }
        let size = entry.header().size().unwrap_or(0);
        if size > remaining {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_CHART}"
            ));
        }
        if size > MAX_FILE {
            return Err(format!(
                "decompressed chart file {raw:?} is larger than the maximum file size {MAX_FILE}"
            ));
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(remaining)
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading {raw}: {e}"))?;
        remaining -= buf.len() as u64;
        files.push(File {
            name: n,
            data: strip_bom(buf),
        });
    }
    if files.is_empty() {
        return Err("no files in chart archive".into());
    }
    Ok(files)
}

pub fn load_archive(data: &[u8]) -> Result<Chart, Error> {
    let files = archive_files(data).map_err(Error::Chart)?;
    load_files(files)
}

fn load_files(files: Vec<File>) -> Result<Chart, Error> {
    let mut metadata: Option<Metadata> = None;
    for f in &files {
        if f.name == "Chart.yaml" {
            let v = read_yaml_map(&f.data, "Chart.yaml")
                .map_err(|m| Error::Chart(format!("cannot load Chart.yaml: {m}")))?;
            let mut m: Metadata = serde_json::from_value(serde_json::Value::Object(v))
                .map_err(|e| Error::Chart(format!("cannot load Chart.yaml: {e}")))?;
            if m.api_version.is_empty() {
                m.api_version = "v1".into();
            }
            metadata = Some(m);
        }
    }
    let Some(mut metadata) = metadata else {
        return Err(Error::Chart("Chart.yaml file is missing".into()));
    };
    let mut values = Values::new();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut subcharts: std::collections::BTreeMap<String, Vec<File>> = Default::default();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" | "Chart.lock" => {}
            "values.schema.json" => schema = Some(f.data),
            "values.yaml" => {
                values = super::values::load_values(&f.data)
                    .map_err(|m| Error::Chart(format!("cannot load values.yaml: {m}")))?;
            }
            "requirements.yaml" => {
                let v = read_yaml_map(&f.data, "requirements.yaml")
                    .map_err(|m| Error::Chart(format!("cannot load requirements.yaml: {m}")))?;
                if let Some(deps) = v.get("dependencies") {
                    metadata.dependencies = serde_json::from_value(deps.clone())
                        .map_err(|e| Error::Chart(format!("cannot load requirements.yaml: {e}")))?;
                }
                if metadata.api_version == "v1" {
                    other.push(f);
                }
            }
            "requirements.lock" => {
                if metadata.api_version == "v1" {
                    other.push(f);
                }
            }
            n if n.starts_with("templates/") => templates.push(f),
            n if n.starts_with("charts/") && !n.ends_with(".prov") => {
                let rest = &n["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or_default().to_string();
                let name = rest.to_string();
                subcharts
                    .entry(cname)
                    .or_default()
                    .push(File { name, data: f.data });
            }
            _ => other.push(f),
        }
    }
    if metadata.name.is_empty() {
        return Err(Error::Chart(
            "validation: chart.metadata.name is required".into(),
        ));
    }
    if metadata.version.is_empty() {
        return Err(Error::Chart(format!(
            "validation: chart.metadata.version is required (chart {})",
            metadata.name
        )));
    }
    // Helm's Metadata.Validate: one dependency per name or alias.
    let mut keys = std::collections::BTreeSet::new();
    for d in metadata.dependencies.iter().flatten() {
        let key = if d.alias.is_empty() {
            &d.name
        } else {
            &d.alias
        };
        if !keys.insert(key.clone()) {
            return Err(Error::Chart(format!(
                "validation: more than one dependency with name or alias {}",
                gotmpl::quote::quote(key)
            )));
        }
    }
    let mut dependencies = Vec::new();
    for (n, files) in subcharts {
        if n.starts_with(['_', '.']) {
            continue;
        }
        let sub = if n.ends_with(".tgz") {
            let Some(file) = files.into_iter().find(|f| f.name == n) else {
                return Err(Error::Chart(format!(
                    "error unpacking subchart tar in {}: expected {n}",
                    metadata.name
                )));
            };
            load_archive(&file.data)
        } else {
            let inner = files
                .into_iter()
                .filter_map(|mut f| {
                    let (_, rest) = f.name.split_once('/')?;
                    f.name = rest.to_string();
                    Some(f)
                })
                .collect();
            load_files(inner)
        };
        let sub = sub.map_err(|e| {
            Error::Chart(format!(
                "error unpacking subchart {n} in {}: {e}",
                metadata.name
            ))
        })?;
        dependencies.push(sub);
    }
    Ok(Chart {
        metadata,
        values,
        templates,
        files: other,
        dependencies,
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, text) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            // Raw name bytes: `set_path` refuses `..`, which is what the test needs.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            b.append(&h, text.as_bytes()).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn archive_loads_and_refuses_escapes() {
        let ok = tgz(&[
            ("c/Chart.yaml", "name: c\nversion: 1.0.0\n"),
            ("c/templates/a.yaml", "x: 1\n"),
        ]);
        let c = load_archive(&ok).unwrap();
        assert_eq!(c.name(), "c");
        assert_eq!(c.templates[0].name, "templates/a.yaml");
        let bad = tgz(&[("c/../../etc/x", "x")]);
        let e = load_archive(&bad).unwrap_err().to_string();
        assert!(e.contains("illegally references parent directory"), "{e}");
        let e = load_archive(b"not gzip").unwrap_err().to_string();
        assert!(e.contains("not a gzip"), "{e}");
    }
}
