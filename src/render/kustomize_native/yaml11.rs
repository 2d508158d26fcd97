//! JSON 6902 patch text read the way kustomize reads it: `sigs.k8s.io/yaml`'s `YAMLToJSON`,
//! that is go-yaml v2 decoding into `interface{}` with YAML 1.1 resolution of plain scalars
//! (`on`, `no`, `y` are booleans, `0x10` and `010` integers), then non-string map keys turned
//! into text (`16`, `1.5`, `false`). Quoted and block scalars always stay strings.

use crate::goyaml::{format_g, parse_timestamp, plain_number};
use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What go-yaml v2 makes of a plain scalar.
enum Plain {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    /// `.inf`, `-.inf`, `.nan` and their spellings: no JSON form.
    NonFinite(f64),
    Str,
}

fn plain(s: &str) -> Plain {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Plain::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Plain::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Plain::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => Plain::NonFinite(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Plain::NonFinite(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Plain::NonFinite(f64::NEG_INFINITY),
        // After a `.` go-yaml tries `strconv.ParseFloat` on the text as is, which refuses `_`.
        _ if s.starts_with('.') && s.contains('_') => Plain::Str,
        // Timestamps resolve, but go-yaml v2 hands them to `interface{}` as their text.
        _ if parse_timestamp(s).is_some() => Plain::Str,
        _ => plain_number(s).map_or(Plain::Str, Plain::Number),
    }
}

/// A scalar as a map key: `sigs.k8s.io/yaml` writes ints in decimal, floats with
/// `strconv.FormatFloat(f, 'g', -1, 32)` (infinities and NaN as `.inf`, `-.inf`, `.nan`) and
/// booleans as `true`/`false`; null and uint64 keys are refused.
fn key_text(s: &str, quoted: bool) -> Result<String, String> {
    if quoted {
        return Ok(s.to_string());
    }
    match plain(s) {
        Plain::Str => Ok(s.to_string()),
        Plain::Bool(b) => Ok(b.to_string()),
        Plain::Null => Err(format!("unsupported map key {s:?} (null)")),
        Plain::NonFinite(f) if f.is_nan() => Ok(".nan".into()),
        Plain::NonFinite(f) => Ok(if f > 0.0 { ".inf" } else { "-.inf" }.into()),
        Plain::Number(n) if n.is_f64() => Ok(float32_g(n.as_f64().unwrap_or_default())),
        Plain::Number(n) => match n.as_i64() {
            Some(i) => Ok(i.to_string()),
            None => Err(format!("unsupported map key {s:?} (uint64)")),
        },
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: the shortest digits of the float32, in `'g'` layout.
fn float32_g(f: f64) -> String {
    // Narrowing rounds to nearest like Go's conversion; an overflow becomes an infinity.
    #[allow(clippy::cast_possible_truncation)]
    let narrow = f as f32;
    if narrow.is_infinite() {
        return if narrow > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    // The float32's shortest digits (at most nine) read back exactly as the shortest float64.
    let wide: f64 = format!("{narrow:e}").parse().unwrap_or(f);
    format_g(wide)
}

fn scalar_value(s: &str, quoted: bool) -> Result<Value, String> {
    if quoted {
        return Ok(Value::String(s.to_string()));
    }
    Ok(match plain(s) {
        Plain::Null => Value::Null,
        Plain::Bool(b) => Value::Bool(b),
        Plain::Number(n) => Value::Number(n),
        Plain::Str => Value::String(s.to_string()),
        Plain::NonFinite(_) => return Err(format!("{s} cannot be written as JSON")),
    })
}

/// A scalar is read as text when quoted, a block scalar or tagged `!!str`; `None` for any other
/// tag (not supported here).
fn is_text(style: ScalarStyle, tag: Option<&Tag>) -> Option<bool> {
    match tag {
        None => Some(style != ScalarStyle::Plain),
        Some(t) if t.suffix.trim_start_matches("tag:yaml.org,2002:") == "str" => Some(true),
        Some(_) => None,
    }
}

enum Frame {
    Seq(Vec<Value>, usize, Keep),
    Map(Map<String, Value>, Option<String>, usize, Keep),
}

/// Which values of a collection a read keeps. A value not kept is still read and checked (so a
/// text the full read refuses is refused too), only not stored.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    All,
    Drop,
    /// The document's top mapping, of which Helm's `SimpleHead` keeps `kind` and `metadata`.
    Head,
    /// `metadata`, of which it keeps `annotations`.
    Metadata,
}

impl Keep {
    /// What is kept of the value under `key` (`None` in a sequence).
    fn child(self, key: Option<&str>) -> Keep {
        match (self, key) {
            (Keep::All, _) | (Keep::Head, Some("kind")) | (Keep::Metadata, Some("annotations")) => {
                Keep::All
            }
            (Keep::Head, Some("metadata")) => Keep::Metadata,
            _ => Keep::Drop,
        }
    }
}

/// Why the text was not read.
pub enum Unread {
    /// Something this reader does not handle (tags, merge keys, several documents, aliased
    /// keys): use the other parser.
    Unsupported,
    /// kustomize fails on it too (a null or uint64 key, a container key, an infinity).
    Invalid(String),
}

/// Reads a single-document YAML text as `YAMLToJSON` does.
pub fn read(text: &str) -> Result<Value, Unread> {
    read_keeping(text, Keep::All)
}

/// What Helm's `SimpleHead` reads of a manifest, the top mapping's `kind` and
/// `metadata.annotations`, without building the rest: the same as [`read`] of the same text
/// with every other key left out, and the same errors. `Unsupported` also when the top is no
/// mapping or the text has anchors or aliases; [`read`] then tells.
pub fn read_head(text: &str) -> Result<Value, Unread> {
    read_keeping(text, Keep::Head)
}

fn read_keeping(text: &str, root: Keep) -> Result<Value, Unread> {
    let filtered = root != Keep::All;
    let mut frames: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut doc: Option<Value> = None;
    let mut docs = 0;
    for ev in Parser::new_from_str(text) {
        let (ev, _) = ev.map_err(|_| Unread::Unsupported)?;
        if filtered
            && match ev {
                Event::Alias(_) => true,
                Event::Scalar(_, _, a, _)
                | Event::SequenceStart(a, _)
                | Event::MappingStart(a, _) => a > 0,
                _ => false,
            }
        {
            return Err(Unread::Unsupported);
        }
        let (value, anchor) = match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(Unread::Unsupported);
                }
                continue;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                if tag.is_some() {
                    return Err(Unread::Unsupported);
                }
                let keep = match frames.last() {
                    Some(Frame::Map(_, None, _, _)) => {
                        return Err(Unread::Invalid("unsupported map key (a collection)".into()))
                    }
                    Some(Frame::Map(_, key, _, keep)) => keep.child(key.as_deref()),
                    Some(Frame::Seq(_, _, keep)) => keep.child(None),
                    None => root,
                };
                let seq = matches!(ev, Event::SequenceStart(..));
                if frames.is_empty() && filtered && seq {
                    return Err(Unread::Unsupported);
                }
                frames.push(if seq {
                    Frame::Seq(Vec::new(), anchor, keep)
                } else {
                    Frame::Map(Map::new(), None, anchor, keep)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match frames.pop() {
                Some(Frame::Seq(items, anchor, _)) => (Value::Array(items), anchor),
                Some(Frame::Map(map, None, anchor, _)) => (Value::Object(map), anchor),
                _ => return Err(Unread::Unsupported),
            },
            Event::Alias(id) => {
                if let Some(Frame::Map(_, None, _, _)) = frames.last() {
                    return Err(Unread::Unsupported);
                }
                let v = anchors.get(&id).cloned().ok_or(Unread::Unsupported)?;
                (v, 0)
            }
            Event::Scalar(s, style, anchor, tag) => {
                let text = is_text(style, tag.as_deref()).ok_or(Unread::Unsupported)?;
                if let Some(Frame::Map(_, key @ None, _, _)) = frames.last_mut() {
                    if !text && s == "<<" {
                        return Err(Unread::Unsupported);
                    }
                    // A later equal key wins, also when two keys only become equal as text
                    // (`n` and `Off` are both `false`).
                    let k = key_text(&s, text).map_err(Unread::Invalid)?;
                    if anchor > 0 {
                        anchors.insert(anchor, scalar_value(&s, text).map_err(Unread::Invalid)?);
                    }
                    *key = Some(k);
                    continue;
                }
                if frames.is_empty() && filtered {
                    return Err(Unread::Unsupported);
                }
                (scalar_value(&s, text).map_err(Unread::Invalid)?, anchor)
            }
        };
        if anchor > 0 {
            anchors.insert(anchor, value.clone());
        }
        match frames.last_mut() {
            Some(Frame::Seq(items, _, keep)) => {
                if keep.child(None) != Keep::Drop {
                    items.push(value);
                }
            }
            Some(Frame::Map(map, key, _, keep)) => {
                let k = key.take().ok_or(Unread::Unsupported)?;
                if keep.child(Some(&k)) != Keep::Drop {
                    map.insert(k, value);
                }
            }
            None => doc = Some(value),
        }
    }
    doc.ok_or(Unread::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Value {
        read(text).unwrap_or_else(|_| panic!("read {text}"))
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        let v = ok("- op: add\n  path: /a\n  value: [on, no, 0x10, 010, 1e3, ~, '', 'on', \"no\", 2001-12-14, 1:20, 0b101, 1_000, y, Off, .5]\n");
        assert_eq!(
            v[0]["value"],
            json!([
                true,
                false,
                16,
                8,
                1000.0,
                null,
                "",
                "on",
                "no",
                "2001-12-14",
                "1:20",
                5,
                1000,
                true,
                false,
                0.5
            ])
        );
    }

    #[test]
    fn keys_become_text() {
        let v = ok("{n: no, 0x10: y, 1.50: ~, 1e20: a, 1e7: b, 3.14159265358979: c, -0: d, 1.0: e, .inf: f, 'y': g}");
        assert_eq!(
            v,
            json!({"false": false, "16": true, "1.5": null, "1e+20": "a", "1e+07": "b",
                "3.1415927": "c", "0": "d", "1": "e", ".inf": "f", "y": "g"})
        );
        // `n` and `Off` both become "false": the later one wins.
        assert_eq!(
            ok("{n: 1, Off: 2, a: 1, a: 2}"),
            json!({"false": 2, "a": 2})
        );
    }

    #[test]
    fn the_head_is_the_full_read_without_other_keys() {
        let text = "apiVersion: v1\nkind: Job\nmetadata:\n  name: x\n  annotations:\n    helm.sh/hook: pre-install\n    m: [1, {a: on}]\n  labels: {a: b}\nspec: {template: [1, 2]}\nkind: Pod\n";
        assert_eq!(
            read_head(text).ok(),
            Some(
                json!({"kind": "Pod", "metadata": {"annotations": {"helm.sh/hook": "pre-install", "m": [1, {"a": true}]}}})
            )
        );
        // What the full read refuses anywhere, the head refuses too.
        for bad in [
            "kind: a\nspec: {~: 1}\n",
            "kind: a\nspec: [.inf]\n",
            "kind: a\nspec: {[a]: 1}\n",
        ] {
            assert!(matches!(read_head(bad), Err(Unread::Invalid(_))), "{bad}");
        }
        assert!(matches!(
            read_head("kind: a\nspec: [\n"),
            Err(Unread::Unsupported)
        ));
    }

    #[test]
    fn refused_and_unsupported() {
        assert!(matches!(read("{~: a}"), Err(Unread::Invalid(_))));
        assert!(matches!(
            read("{12345678901234567890: a}"),
            Err(Unread::Invalid(_))
        ));
        assert!(matches!(read("{[a]: b}"), Err(Unread::Invalid(_))));
        assert!(matches!(read("[.inf]"), Err(Unread::Invalid(_))));
        assert!(matches!(read("[!!int 1]"), Err(Unread::Unsupported)));
        assert!(matches!(
            read("a: 1\n---\nb: 2\n"),
            Err(Unread::Unsupported)
        ));
        assert!(matches!(read_head("[a]"), Err(Unread::Unsupported)));
        assert!(matches!(read_head("a"), Err(Unread::Unsupported)));
        assert!(matches!(read_head("a: &x 1"), Err(Unread::Unsupported)));
        assert_eq!(
            ok("[!!str on, &x {a: on}, *x]"),
            json!(["on", {"a": true}, {"a": true}])
        );
    }
}
