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

/// Parses a YAML stream into its documents, skipping empty ones (`---` alone, comments only, `null`).
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        match Value::deserialize(de) {
            Ok(Value::Null) => {}
            Ok(v) => docs.push(v),
            Err(e) => {
                return Err(YamlError {
                    index: i + 1,
                    line: e.location().map(|l| l.line()),
                    message: strip_location(&e.to_string()),
                })
            }
        }
    }
    Ok(docs)
}

fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Serialises one document. The same value always gives the same bytes.
pub fn to_yaml(value: &Value) -> String {
    serde_yaml_ng::to_string(value).expect("a JSON value always serialises to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_empty_documents_and_keeps_order() {
        let docs = parse_documents("---\n# only a comment\n---\na: 1\n---\n---\nb: [x]\n").expect("parses");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["a"], 1);
        assert_eq!(docs[1]["b"][0], "x");
    }

    #[test]
    fn error_names_document_and_line() {
        let err = parse_documents("a: 1\n---\nb: [unclosed\n").unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.line.is_some(), "{err}");
    }

    #[test]
    fn round_trip_is_stable() {
        let docs = parse_documents("b: 2\na:\n  s: \"yes\"\n  m: |\n    line1\n    line2\n").expect("parses");
        let once = to_yaml(&docs[0]);
        let twice = to_yaml(&parse_documents(&once).expect("reparses")[0]);
        assert_eq!(once, twice);
        assert!(once.starts_with("b: 2\n"), "key order kept: {once}");
    }
}
