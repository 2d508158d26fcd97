//! Multi-document YAML in, stable YAML out.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("document {index}{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct YamlError {
    /// 1-based position of the document in the stream.
    pub index: usize,
    pub line: Option<usize>,
    pub message: String,
}

/// Parses a YAML stream into its documents, skipping empty ones (`---` alone, comments only,
/// `null`). A mapping key defined twice is refused with both lines (see [`super::strict`]): this
/// reads files people wrote. Tool output goes through [`parse_rendered`].
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_stream(text, true)
}

/// Parses the output of a renderer (helm, a kustomize binary) as the tools that apply it do:
/// a key repeated by a chart's template keeps its last value, as Helm and Flux keep it.
pub fn parse_rendered(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_stream(text, false)
}

/// The key [`parse_marking_duplicates`] adds to a mapping that had a key twice; its value maps
/// each such key to its last value. Readers that take it must remove it before output.
pub const DUPLICATE_MARK: &str = "\u{0}duplicate key";

/// Parses like [`parse_documents`], except that a key defined twice keeps its first value and
/// the mapping gets a [`DUPLICATE_MARK`] entry with the last one: for kustomize's strategic merge
/// patches, where kyaml uses the first value when merging into an existing mapping and fails
/// only when it has to copy the mapping whole.
pub fn parse_marking_duplicates(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_stream_as(text, Mode::Mark)
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Unique,
    Mark,
    Last,
}

fn parse_stream(text: &str, unique: bool) -> Result<Vec<Value>, YamlError> {
    parse_stream_as(text, if unique { Mode::Unique } else { Mode::Last })
}

fn parse_stream_as(text: &str, mode: Mode) -> Result<Vec<Value>, YamlError> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let parsed = match mode {
            Mode::Unique => Unique::<false>::deserialize(de).map(|u| u.0),
            Mode::Mark => Unique::<true>::deserialize(de).map(|u| u.0),
            Mode::Last => Value::deserialize(de),
        };
        match parsed {
            Ok(Value::Null) => {}
            Ok(v) => docs.push(v),
            Err(e) => {
                let mut err = YamlError {
                    index: i + 1,
                    line: e.location().map(|l| l.line()),
                    message: strip_location(&e.to_string()),
                };
                // serde_yaml_ng's own limits, in the words every reader of ferry uses.
                if err.message.contains("recursion limit exceeded") {
                    err.message = super::strict::StrictKind::TooDeep.to_string();
                } else if err.message.contains("repetition limit exceeded") {
                    err.message = super::strict::StrictKind::AliasBomb.to_string();
                } else if err.message.contains(DUPLICATE) {
                    // The visitor only knows that a key came twice; the event scan finds both
                    // lines.
                    if let Err(s) = super::strict::check_rules(text) {
                        err.line = Some(s.line);
                        err.message = match s.path.as_str() {
                            "" => s.kind.to_string(),
                            p => format!("{p}: {}", s.kind),
                        };
                    }
                }
                return Err(err);
            }
        }
    }
    Ok(docs)
}

const DUPLICATE: &str = "mapping key defined twice";

/// A JSON value read like `serde_json::Value` reads one, except that a mapping key defined
/// twice is an error instead of the last one winning (or, with `MARK`, keeps its first value
/// and marks the mapping with [`DUPLICATE_MARK`]).
struct Unique<const MARK: bool>(Value);

impl<'de, const MARK: bool> Deserialize<'de> for Unique<MARK> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Unique<MARK>, D::Error> {
        de.deserialize_any(UniqueVisitor::<MARK>)
    }
}

struct UniqueVisitor<const MARK: bool>;

impl<'de, const MARK: bool> serde::de::Visitor<'de> for UniqueVisitor<MARK> {
    type Value = Unique<MARK>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    // Scalars are read exactly as serde_json reads them.
    fn visit_bool<E>(self, v: bool) -> Result<Unique<MARK>, E> {
        Ok(Unique(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Unique<MARK>, E> {
        Ok(Unique(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Unique<MARK>, E> {
        Ok(Unique(v.into()))
    }
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Unique<MARK>, E> {
        Value::deserialize(serde::de::value::I128Deserializer::<E>::new(v)).map(Unique)
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Unique<MARK>, E> {
        Value::deserialize(serde::de::value::U128Deserializer::<E>::new(v)).map(Unique)
    }
    fn visit_f64<E>(self, v: f64) -> Result<Unique<MARK>, E> {
        Ok(Unique(
            serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Unique<MARK>, E> {
        Ok(Unique(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Unique<MARK>, E> {
        Ok(Unique(Value::String(v)))
    }
    fn visit_none<E>(self) -> Result<Unique<MARK>, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_unit<E>(self) -> Result<Unique<MARK>, E> {
        Ok(Unique(Value::Null))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<Unique<MARK>, D::Error> {
        Unique::<MARK>::deserialize(de)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unique<MARK>, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique::<MARK>(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Unique(Value::Array(items)))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unique<MARK>, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Unique::<MARK>(v) = map.next_value()?;
            if !out.contains_key(&k) {
                out.insert(k, v);
            } else if MARK {
                if let Value::Object(mark) = out
                    .entry(DUPLICATE_MARK)
                    .or_insert_with(|| Value::Object(serde_json::Map::new()))
                {
                    mark.insert(k, v);
                }
            } else {
                return Err(serde::de::Error::custom(DUPLICATE));
            }
        }
        Ok(Unique(Value::Object(out)))
    }
}

fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Serialises one document as `kubectl` and `helm` write YAML (go-yaml v2 through
/// sigs.k8s.io/yaml): keys in Go's natural order, and every string a YAML 1.1 reader would take
/// for something else (`on`, `yes`, `1.0`, `~`) quoted, so that kubectl reads back exactly the
/// value ferry wrote. A SOPS-encrypted document keeps its own key order, since its MAC covers
/// the values in that order. The same value always gives the same bytes.
pub fn to_yaml(value: &Value) -> String {
    if value.get("sops").is_some_and(Value::is_object) {
        crate::goyaml::to_yaml_in_order(value)
    } else {
        crate::goyaml::to_yaml(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_empty_documents_and_keeps_order() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n---\n---\nb: [x]\n")
            .expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["a"], 1);
        assert_eq!(docs[1]["b"][0], "x");
    }

    #[test]
    fn error_names_document_and_line() {
        let err = parse_documents("a: 1\n---\nb: [unclosed\n").expect_err("must fail");
        assert_eq!(err.index, 2);
        assert!(err.line.is_some(), "{err}");
    }

    #[test]
    fn a_duplicate_key_names_both_lines_and_rendered_output_keeps_the_last() {
        let text = "a: 1\n---\nkind: ConfigMap\ndata:\n  x: \"1\"\n  y: \"2\"\n  x: \"3\"\n";
        let err = parse_documents(text).expect_err("duplicate");
        assert_eq!(err.index, 2);
        assert_eq!(err.line, Some(7));
        assert_eq!(
            err.message,
            "data: mapping key \"x\" already defined at line 5"
        );
        let docs = parse_rendered(text).expect("tools keep the last");
        assert_eq!(docs[1]["data"]["x"], "3");
        // Same values with unique keys read the same both ways.
        let fine = "a: {b: [1, 2.5, x, null, true]}\n";
        assert_eq!(parse_documents(fine).ok(), parse_rendered(fine).ok());
    }

    #[test]
    fn sops_documents_keep_their_key_order() {
        let docs = parse_documents("stringData:\n  b: ENC[x]\n  a: ENC[y]\nsops:\n  mac: ENC[z]\n")
            .expect("parses");
        assert_eq!(
            to_yaml(&docs[0]),
            "stringData:\n  b: ENC[x]\n  a: ENC[y]\nsops:\n  mac: ENC[z]\n"
        );
    }

    #[test]
    fn round_trip_is_stable() {
        let docs = parse_documents("b: 2\na:\n  s: \"yes\"\n  m: |\n    line1\n    line2\n")
            .expect("parses");
        let once = to_yaml(&docs[0]);
        let twice = to_yaml(&parse_documents(&once).expect("reparses")[0]);
        assert_eq!(once, twice);
        assert!(
            once.starts_with("a:\n"),
            "keys sorted as Go sorts them: {once}"
        );
        assert!(
            once.contains("s: \"yes\""),
            "YAML 1.1 booleans stay strings: {once}"
        );
    }
}
