//! The `images` transformer (`api/filters/imagetag`): rewrites container images that match
//! an entry's `name`, first in every `containers`/`initContainers` list anywhere in an object
//! (the legacy walk), then at the built-in image field specs.

use super::fieldspec::{apply, Create, FieldSpec};
use super::kustomization::Image;
use super::resource::Resource;
use serde_json::Value;

pub fn field_specs() -> Vec<FieldSpec> {
    [
        "spec/containers[]/image",
        "spec/initContainers[]/image",
        "spec/volumes[]/image/reference",
        "spec/template/spec/containers[]/image",
        "spec/template/spec/initContainers[]/image",
        "spec/template/spec/volumes[]/image/reference",
    ]
    .iter()
    .map(|p| FieldSpec::new("", "", "", p, true))
    .collect()
}

/// Applies one `images` entry to every resource but CustomResourceDefinitions.
pub fn apply_image(
    resources: &mut [Resource],
    image: &Image,
    specs: &[FieldSpec],
) -> Result<(), (usize, String)> {
    for (i, res) in resources.iter_mut().enumerate() {
        if res.gvk().kind == "CustomResourceDefinition" {
            continue;
        }
        legacy_walk(&mut res.value, image).map_err(|e| (i, e))?;
        for spec in specs {
            let mut set = |node: &mut Value, _: &str| update(node, image);
            apply(spec, &mut res.value, Create::Nothing, &mut set).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

/// Every field named `containers` or `initContainers`, at any depth, whose value is a list:
/// the `image` of each element (children are visited before the field itself, as upstream).
fn legacy_walk(node: &mut Value, image: &Image) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                legacy_walk(value, image)?;
                if key == "containers" || key == "initContainers" {
                    if let Value::Array(items) = value {
                        for item in items {
                            if let Some(img) = item.get_mut("image") {
                                update(img, image)?;
                            }
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| legacy_walk(item, image)),
        _ => Ok(()),
    }
}

fn update(node: &mut Value, image: &Image) -> Result<(), String> {
    let text = match node {
        Value::Null => return Ok(()),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(format!(
                "wrong node kind for an image: {}",
                super::resource::kind_name(other)
            ))
        }
    };
    if !matches(&text, &image.name) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split(&text);
    if !image.new_name.is_empty() {
        name = image.new_name.clone();
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag = image.new_tag.clone();
        digest = image.digest.clone();
    } else if !image.new_tag.is_empty() {
        tag = image.new_tag.clone();
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest = image.digest.clone();
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    *node = Value::String(name);
    Ok(())
}

/// `^NAME(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$` where NAME is used as a regular
/// expression upstream; image names only hold `.` among regex metacharacters, and it matches
/// any character there.
fn matches(value: &str, name: &str) -> bool {
    let v: Vec<char> = value.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if v.len() < n.len() || !n.iter().zip(&v).all(|(p, c)| *p == '.' || p == c) {
        return false;
    }
    let rest: String = v[n.len()..].iter().collect();
    let allowed = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.{}-".contains(c))
    };
    let (tag_part, digest_part) = match rest.find("@sha256:") {
        Some(i) => (&rest[..i], Some(&rest[i + "@sha256:".len()..])),
        None => (rest.as_str(), None),
    };
    let tag_ok = tag_part.is_empty() || (tag_part.starts_with(':') && allowed(&tag_part[1..]));
    tag_ok && digest_part.is_none_or(allowed)
}

/// `image.Split`: name, tag and digest of an image reference.
fn split(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (Some(c), Some(d)) if c < d => {
            let (c, d) = (c + slash, d + slash);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (_, Some(d)) => {
            let d = d + slash;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + slash;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_match_like_kustomize() {
        assert_eq!(split("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split("nginx:1.2"),
            ("nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            split("localhost:5000/app:v1@sha256:ab"),
            ("localhost:5000/app".into(), "v1".into(), "sha256:ab".into())
        );
        assert_eq!(
            split("app@sha256:ab"),
            ("app".into(), "".into(), "sha256:ab".into())
        );
        assert!(matches(
            "quay.io/argoproj/argocd:latest",
            "quay.io/argoproj/argocd"
        ));
        assert!(matches("nginx", "nginx"));
        assert!(!matches("nginx-extra:1", "nginx"));
        assert!(matches("nginx@sha256:abc", "nginx"));
    }

    #[test]
    fn new_tag_replaces_tag_and_digest() {
        let image = Image {
            name: "nginx".into(),
            new_tag: "1.25".into(),
            ..Image::default()
        };
        let mut v = Value::String("nginx:1.0@sha256:ab".into());
        update(&mut v, &image).expect("updates");
        assert_eq!(v, "nginx:1.25");
    }
}
