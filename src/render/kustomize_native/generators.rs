//! `configMapGenerator` and `secretGenerator` (`api/internal/generators`, `api/kv`): objects
//! built from literals, files and env files, with `generatorOptions`, the create/merge/replace
//! behaviours against objects already gathered, and the content-hash name suffix
//! (`api/hasher`) added once the whole tree is built.

use super::error::Error;
use super::kustomization::{Generator, GeneratorOptions, Kustomization};
use super::resource::{Resource, Track};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Runs this kustomization's generators into `acc`: ConfigMaps first, then Secrets.
pub fn run(k: &Kustomization, dir: &Path, acc: &mut Vec<Resource>) -> Result<(), Error> {
    let global = k.generator_options.as_ref();
    for (generator, secret) in k
        .config_maps
        .iter()
        .map(|g| (g, false))
        .chain(k.secrets.iter().map(|g| (g, true)))
    {
        let mut res = make(k, dir, generator, secret, global)?;
        // The origin goes on before a merge or replace: a replace's merged annotations take
        // the generator's, a merge keeps the existing object's (see `absorb`).
        let kind = if secret {
            "SecretGenerator"
        } else {
            "ConfigMapGenerator"
        };
        super::origin::set_new(std::slice::from_mut(&mut res), 0, |_| {
            super::origin::builtin(k, kind)
        });
        absorb(acc, res, generator, &k.file)?;
    }
    Ok(())
}

/// One generator given as a builtin plugin configuration (`generators:`): no global
/// `generatorOptions`, as kustomize configures the plugin from its own file alone.
pub fn run_one(
    k: &Kustomization,
    dir: &Path,
    g: &Generator,
    secret: bool,
    acc: &mut Vec<Resource>,
    origin: &dyn Fn() -> super::origin::Origin,
) -> Result<(), Error> {
    let mut res = make(k, dir, g, secret, None)?;
    super::origin::set_new(std::slice::from_mut(&mut res), 0, |_| origin());
    absorb(acc, res, g, &k.file)
}

fn field_error(k: &Kustomization, field: &str, message: String) -> Error {
    Error::Field {
        file: k.file.clone(),
        field: field.to_string(),
        message,
    }
}

fn make(
    k: &Kustomization,
    dir: &Path,
    g: &Generator,
    secret: bool,
    global: Option<&GeneratorOptions>,
) -> Result<Resource, Error> {
    if g.name.is_empty() {
        return Err(field_error(
            k,
            &format!("{}.name", g.field),
            "a generated object must have a name".into(),
        ));
    }
    let options = GeneratorOptions::merged_with(g.options.as_ref(), global);
    let pairs = load_pairs(k, dir, g)?;
    let kind = if secret { "Secret" } else { "ConfigMap" };
    let mut meta = Map::new();
    meta.insert("name".into(), json!(g.name));
    if !g.namespace.is_empty() {
        meta.insert("namespace".into(), json!(g.namespace));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    if secret {
        let t = if g.secret_type.is_empty() {
            "Opaque"
        } else {
            &g.secret_type
        };
        obj.insert("type".into(), json!(t));
        let data: Map<String, Value> = pairs
            .iter()
            .map(|(key, v)| (key.clone(), json!(wrapped_base64(v.as_bytes()))))
            .collect();
        obj.insert("data".into(), Value::Object(data));
    } else {
        let (mut data, mut binary) = (Map::new(), Map::new());
        for (key, v) in &pairs {
            match std::str::from_utf8(v.as_bytes()) {
                Ok(text) => data.insert(key.clone(), json!(text)),
                Err(_) => binary.insert(key.clone(), json!(wrapped_base64(v.as_bytes()))),
            };
        }
        if !data.is_empty() {
            obj.insert("data".into(), Value::Object(data));
        }
        if !binary.is_empty() {
            obj.insert("binaryData".into(), Value::Object(binary));
        }
    }
    let mut needs_hash = true;
    if let Some(o) = &options {
        for (field, pairs) in [("labels", &o.labels), ("annotations", &o.annotations)] {
            if let Some(pairs) = pairs.as_ref().filter(|p| !p.is_empty()) {
                let m: Map<String, Value> =
                    pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                meta.insert(field.into(), Value::Object(m));
            }
        }
        if o.immutable {
            obj.insert("immutable".into(), json!(true));
        }
        needs_hash = !o.disable_name_suffix_hash;
    }
    obj.insert("metadata".into(), Value::Object(meta));
    let mut res = Resource {
        value: Value::Object(obj),
        file: k.file.clone(),
        shared: Vec::new(),
        untyped: Vec::new(),
        track: Track::default(),
    };
    res.track.needs_hash = needs_hash;
    Ok(res)
}

/// Key/value pairs in kustomize's order: env files, then literals, then files. Bytes are kept
/// as read so that non-UTF-8 files can become `binaryData`.
fn load_pairs(k: &Kustomization, dir: &Path, g: &Generator) -> Result<Vec<(String, Bytes)>, Error> {
    let mut pairs: Vec<(String, Bytes)> = Vec::new();
    for (i, env) in g.envs.iter().enumerate() {
        let field = format!("{}.envs[{i}]", g.field);
        let content = super::loader::read_file(k, dir, &field, env)?;
        let text = String::from_utf8(content)
            .map_err(|_| field_error(k, &field, format!("'{env}' is not UTF-8 text")))?;
        for (n, line) in text.lines().enumerate() {
            let line = if n == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if !is_env_var_name(key) {
                return Err(field_error(
                    k,
                    &field,
                    format!(
                        "'{env}' line {}: '{key}' is not a valid environment variable name",
                        n + 1
                    ),
                ));
            }
            pairs.push((key.to_string(), Bytes(value.as_bytes().to_vec())));
        }
    }
    for (i, literal) in g.literals.iter().enumerate() {
        let field = format!("{}.literals[{i}]", g.field);
        match literal.split_once('=') {
            Some((key, value)) if !key.is_empty() => pairs.push((
                key.to_string(),
                Bytes(remove_quotes(value).as_bytes().to_vec()),
            )),
            _ => {
                return Err(field_error(
                    k,
                    &field,
                    format!("invalid literal source '{literal}', expected key=value"),
                ))
            }
        }
    }
    for (i, source) in g.files.iter().enumerate() {
        let field = format!("{}.files[{i}]", g.field);
        let (key, path) = match source.matches('=').count() {
            0 => (
                source.rsplit('/').next().unwrap_or(source).to_string(),
                source.as_str(),
            ),
            1 => match source.split_once('=') {
                Some((key, path)) if !key.is_empty() && !path.is_empty() => (key.to_string(), path),
                _ => {
                    return Err(field_error(
                        k,
                        &field,
                        format!("'{source}' needs both a key and a file path (key=path)"),
                    ))
                }
            },
            _ => {
                return Err(field_error(
                    k,
                    &field,
                    format!("source '{source}': key name or file path contains '='"),
                ))
            }
        };
        pairs.push((key, Bytes(super::loader::read_file(k, dir, &field, path)?)));
    }
    let mut seen = std::collections::HashSet::new();
    for (key, _) in &pairs {
        if !is_config_key(key) {
            return Err(field_error(
                k,
                &g.field,
                format!("'{key}' is not a valid key name (letters, digits, '-', '_' and '.')"),
            ));
        }
        if !seen.insert(key.clone()) {
            return Err(field_error(
                k,
                &g.field,
                format!("{} illegally repeats the key `{key}`", g.name),
            ));
        }
    }
    Ok(pairs)
}

/// File contents: bytes, which may not be UTF-8.
struct Bytes(Vec<u8>);

impl Bytes {
    fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// kustomize's `removeQuotes` for literal values: one pair of matching outer quotes goes.
fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn is_config_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Standard base64, broken into lines of 70 characters (each ending in a newline) once it
/// reaches that length, as kyaml's `encodeBase64` does.
fn wrapped_base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut plain = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                plain.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                plain.push('=');
            }
        }
    }
    if plain.len() < 70 {
        return plain;
    }
    let mut out = String::with_capacity(plain.len() + plain.len() / 70 + 1);
    for line in plain.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// `appendReplaceOrMerge`: a generated object either is new, or merges into / replaces the
/// one object that has (or had) its id.
fn absorb(
    acc: &mut Vec<Resource>,
    mut res: Resource,
    g: &Generator,
    file: &Path,
) -> Result<(), Error> {
    let key = res.id().key();
    let matches: Vec<usize> = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.previous_ids()
                .iter()
                .chain(std::iter::once(&r.id()))
                .any(|id| id.key() == key)
        })
        .map(|(i, _)| i)
        .collect();
    let err = |message: String| Error::Field {
        file: file.to_path_buf(),
        field: g.field.clone(),
        message,
    };
    match (matches.as_slice(), g.behavior.as_str()) {
        ([], "merge" | "replace") => Err(err(format!(
            "{} does not exist; cannot merge or replace",
            res.id()
        ))),
        ([], _) => {
            acc.push(res);
            Ok(())
        }
        ([i], "merge" | "replace") => {
            let old = &acc[*i];
            copy_metadata(&mut res, old);
            if g.behavior == "merge" {
                super::origin::keep_on_merge(&mut res, old);
                for field in ["data", "binaryData"] {
                    let mut merged = old
                        .value
                        .get(field)
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(mine) = res.value.get(field).and_then(Value::as_object) {
                        merged.extend(mine.clone());
                    }
                    if let Some(obj) = res.value.as_object_mut() {
                        if merged.is_empty() {
                            obj.remove(field);
                        } else {
                            obj.insert(field.into(), Value::Object(merged));
                        }
                    }
                }
            }
            acc[*i] = res;
            Ok(())
        }
        ([_], _) => Err(err(format!(
            "{} exists; behavior must be merge or replace",
            res.id()
        ))),
        (_, _) => Err(err(format!(
            "found multiple objects that could accept merge of {}",
            res.id()
        ))),
    }
}

/// `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (the generator's win), name,
/// namespace and kustomize's rename history taken from the existing object.
fn copy_metadata(res: &mut Resource, old: &Resource) {
    let merged = |field: &str| -> Map<String, Value> {
        let mut m = old.value["metadata"][field]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if let Some(mine) = res.value["metadata"][field].as_object() {
            m.extend(mine.clone());
        }
        // `GetLabels`/`SetLabels` go through text: every value comes back a string.
        m.into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Value::String(super::fieldspec::scalar_text(&v).unwrap_or_default()),
                )
            })
            .collect()
    };
    let (labels, annotations) = (merged("labels"), merged("annotations"));
    let name = old.value["metadata"]["name"].clone();
    let namespace = old.value["metadata"]["namespace"].clone();
    if let Some(Value::Object(meta)) = res.value.get_mut("metadata") {
        for (field, m) in [("labels", labels), ("annotations", annotations)] {
            if m.is_empty() {
                meta.remove(field);
            } else {
                meta.insert(field.into(), Value::Object(m));
            }
        }
        meta.insert("name".into(), name);
        match namespace {
            Value::String(ns) if !ns.is_empty() => {
                meta.insert("namespace".into(), Value::String(ns));
            }
            _ => {
                meta.remove("namespace");
            }
        }
    }
    // Build annotations come from the existing object; the hash survives only if both the
    // existing object and the generator ask for it.
    let needs_hash = res.track.needs_hash && old.track.needs_hash;
    res.track = old.track.clone();
    res.track.needs_hash = needs_hash;
    res.shared = Vec::new();
}

/// `hasher.encode(hex256(...))`: the first ten hex digits of the SHA-256, with the characters
/// that could spell words swapped out.
fn encode_hash(text: &str) -> String {
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    digest[..10]
        .chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// The value kustomize hashes for a field: the mapping itself, a scalar's text, or "" when
/// the field is missing.
fn hash_value(value: Option<&Value>) -> Value {
    match value {
        None => json!(""),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(Value::String(s)) => json!(s),
        Some(Value::Null) => json!(""),
        Some(other) => json!(other.to_string()),
    }
}

/// kustomize's `Hasher.Hash` for ConfigMaps and Secrets. Upstream looks the name up under a
/// field literally called `metadata/name`, which never exists, so the name is always "".
pub fn content_hash(value: &Value) -> Option<String> {
    let mut m = Map::new();
    match value["kind"].as_str()? {
        "ConfigMap" => {
            m.insert("kind".into(), json!("ConfigMap"));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), hash_value(value.get("data")));
            if let Some(Value::Object(b)) = value.get("binaryData") {
                m.insert("binaryData".into(), Value::Object(b.clone()));
            }
        }
        "Secret" => {
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), hash_value(value.get("type")));
            m.insert("name".into(), json!(""));
            m.insert("data".into(), hash_value(value.get("data")));
            if let Some(Value::Object(s)) = value.get("stringData") {
                m.insert("stringData".into(), Value::Object(s.clone()));
            }
        }
        _ => return None,
    }
    Some(encode_hash(&crate::goyaml::to_json(&Value::Object(m))))
}

/// The hash transformer, run once at the top: every generated object that wants it gets
/// `-<hash>` appended to its name (and remembers the old id for name references).
pub fn add_hash_suffixes(resources: &mut [Resource]) -> Result<(), (usize, String)> {
    for (i, res) in resources.iter_mut().enumerate() {
        if !res.track.needs_hash {
            continue;
        }
        let Some(hash) = content_hash(&res.value) else {
            return Err((
                i,
                "only ConfigMaps and Secrets can get a content hash suffix".into(),
            ));
        };
        res.store_previous_id();
        let name = format!("{}-{hash}", res.name());
        if let Some(Value::Object(meta)) = res.value.get_mut("metadata") {
            meta.insert("name".into(), Value::String(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_kustomize() {
        // `configMapGenerator: [{name: x, literals: [a=b]}]` → x-4h2mbtbbt6 with kustomize v5.7.1.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}});
        assert_eq!(content_hash(&cm).as_deref(), Some("4h2mbtbbt6"));
        // `secretGenerator: [{name: s, literals: [k=v]}]` → s-ftgtgc4t9f.
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}});
        assert_eq!(content_hash(&s).as_deref(), Some("ftgtgc4t9f"));
    }

    #[test]
    fn base64_wraps_long_values() {
        assert_eq!(wrapped_base64(b"v"), "dg==");
        assert_eq!(wrapped_base64(b"ab"), "YWI=");
        let long = wrapped_base64(&[b'x'; 60]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [70, 10]);
        assert!(long.ends_with('\n'));
    }
}
