//! The SOPS document model: ordered maps, lists, typed leaves and comments, as sops keeps them.

/// One value of a document. Maps keep their order and their comments, because the MAC covers
/// the order of leaves and `sops -d` prints the comments back.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    /// A YAML timestamp, as the RFC 3339 text Go's `time.Time` marshals to (sops' `time` type).
    Time(String),
    /// A comment inside a list (the text after `#`). In a map, comments are [`Item::Comment`].
    Comment(Comment),
    Map(Branch),
    List(Vec<Value>),
}

/// A comment line; `text` is what follows the `#`, leading space included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    /// Written on the line of the value that follows it (`- a # text`), not above it.
    pub inline: bool,
}

impl Comment {
    pub fn new(text: impl Into<String>) -> Self {
        Comment {
            text: text.into(),
            inline: false,
        }
    }
}

/// One entry of a map: a key and its value, or a comment line between entries.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Entry(String, Value),
    Comment(Comment),
}

/// A map: its entries and comments in document order.
pub type Branch = Vec<Item>;

/// A value reached by a key in a branch (comments are skipped).
pub fn get<'a>(branch: &'a Branch, key: &str) -> Option<&'a Value> {
    branch.iter().find_map(|item| match item {
        Item::Entry(k, v) if k == key => Some(v),
        _ => None,
    })
}

/// Removes the entry with this key and returns its value.
pub fn remove(branch: &mut Branch, key: &str) -> Option<Value> {
    let i = branch
        .iter()
        .position(|item| matches!(item, Item::Entry(k, _) if k == key))?;
    match branch.remove(i) {
        Item::Entry(_, v) => Some(v),
        Item::Comment(_) => None,
    }
}

impl Value {
    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to a JSON value (comments dropped, bytes as a string when UTF-8, else base64).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Comment(_) => J::Null,
            Value::Str(s) | Value::Time(s) => J::String(s.clone()),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Bool(b) => J::Bool(*b),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => J::String(s.to_string()),
                Err(_) => {
                    use base64::Engine;
                    J::String(base64::engine::general_purpose::STANDARD.encode(b))
                }
            },
            Value::Map(branch) => J::Object(branch_to_json(branch)),
            Value::List(items) => J::Array(
                items
                    .iter()
                    .filter(|v| !matches!(v, Value::Comment(_)))
                    .map(Value::to_json)
                    .collect(),
            ),
        }
    }

    /// Converts from a JSON value; integers stay integers, as sops' JSON store reads them.
    pub fn from_json(value: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Item::Entry(k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// A branch as a JSON object (comments dropped).
pub fn branch_to_json(branch: &Branch) -> serde_json::Map<String, serde_json::Value> {
    branch
        .iter()
        .filter_map(|item| match item {
            Item::Entry(k, v) => Some((k.clone(), v.to_json())),
            Item::Comment(_) => None,
        })
        .collect()
}

/// A JSON object as a branch.
pub fn branch_from_json(map: &serde_json::Map<String, serde_json::Value>) -> Branch {
    map.iter()
        .map(|(k, v)| Item::Entry(k.clone(), Value::from_json(v)))
        .collect()
}
