//! Parsed templates reused by their text. Parsing is a pure function of a template's name,
//! its text and which function names the set knows, and it costs about a third of a Helm
//! render: a chart that many apps or environments share, a chart re-rendered on every
//! reconcile, and the same `tpl` text run again are parsed once per process. Errors are not
//! kept (they are worded with the caller's positions and are rare).
//!
//! The cache is shared by all threads (trees are immutable behind `Arc`) and bounded by the
//! bytes of text it holds; when that is exceeded it starts again empty.

use crate::ast::Tree;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Text (and names) held at most: about three times the templates of all corpus charts
/// together (5.7 MB), whose trees take a few times their text.
const MAX_BYTES: usize = 16 << 20;

/// The trees one `parse` call adds to a set, in the order the parser made them.
pub type Parsed = Arc<[Arc<Tree>]>;

struct Entry {
    funcs: u64,
    name: Box<str>,
    text: Arc<str>,
    trees: Parsed,
}

#[derive(Default)]
struct Cache {
    by_hash: HashMap<u64, Vec<Entry>>,
    bytes: usize,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn hash(funcs: u64, name: &str, text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (funcs, name, text).hash(&mut h);
    h.finish()
}

/// A fingerprint of the function names a set knows: the parser's only input besides the
/// name and text (an unknown function is a parse error; `break`/`continue` are keywords
/// unless defined as functions).
pub fn funcs_fingerprint<'a>(names: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    names.dedup();
    let mut h = DefaultHasher::new();
    names.hash(&mut h);
    h.finish()
}

/// The trees of an earlier parse of the same name and text with the same functions.
pub fn get(funcs: u64, name: &str, text: &str) -> Option<Parsed> {
    let key = hash(funcs, name, text);
    let cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    cache.by_hash.get(&key)?.iter().find_map(|e| {
        (e.funcs == funcs && &*e.name == name && &*e.text == text).then(|| Arc::clone(&e.trees))
    })
}

/// Keeps the trees of a successful parse.
pub fn put(funcs: u64, name: &str, text: &str, trees: Parsed) {
    let size = name.len() + text.len();
    if size > MAX_BYTES {
        return;
    }
    // The trees hold the text already: share it rather than copy it.
    let text = trees
        .first()
        .map(|t| Arc::clone(&t.text))
        .filter(|t| &**t == text)
        .unwrap_or_else(|| Arc::from(text));
    let key = hash(funcs, name, &text);
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if cache.bytes + size > MAX_BYTES {
        *cache = Cache::default();
    }
    let bucket = cache.by_hash.entry(key).or_default();
    if bucket
        .iter()
        .any(|e| e.funcs == funcs && &*e.name == name && e.text == text)
    {
        return;
    }
    bucket.push(Entry {
        funcs,
        name: name.into(),
        text,
        trees,
    });
    cache.bytes += size;
}

#[cfg(test)]
mod tests {
    use crate::{Func, FuncMap, Signature, Templates, Type, Value};
    use std::sync::Arc;

    #[test]
    fn a_text_parsed_again_reuses_its_trees() {
        let text = r#"{{ define "reused-x" }}reused {{ . }}{{ end }}{{ template "reused-x" . }}"#;
        let mut a = Templates::new();
        a.parse("reused", text).expect("parses");
        let mut b = Templates::new();
        b.parse("reused", text).expect("parses");
        assert!(Arc::ptr_eq(&a.trees["reused-x"], &b.trees["reused-x"]));
        assert_eq!(
            b.execute("reused", Value::Int(1)).expect("runs"),
            "reused 1"
        );
        // The same text under another name is another template.
        let mut c = Templates::new();
        c.parse("other", text).expect("parses");
        assert!(!Arc::ptr_eq(&a.trees["reused"], &c.trees["other"]));
        assert_eq!(c.trees["other"].name, "other");
    }

    #[test]
    fn sets_that_know_other_functions_parse_afresh() {
        let text = r#"{{ shout "a" }}"#;
        let plain = Templates::new()
            .parse("shout", text)
            .expect_err("unknown function");
        assert!(
            plain
                .to_string()
                .contains(r#"function "shout" not defined"#),
            "{plain}"
        );
        let mut funcs = FuncMap::new();
        funcs.insert(
            "shout",
            Func::pure(Signature::fixed(&[Type::String]), |a| {
                Ok(Value::str(
                    &a[0].as_str().unwrap_or_default().to_uppercase(),
                ))
            }),
        );
        let mut with = Templates::with_funcs(funcs);
        with.parse("shout", text).expect("known here");
        assert_eq!(with.execute("shout", Value::Nil).expect("runs"), "A");
        assert!(Templates::new().parse("shout", text).is_err(), "not reused");
    }
}
