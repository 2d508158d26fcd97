//! The rules every YAML file ferry reads from a repository is held to, whatever parser then
//! decodes it: a mapping key defined twice is refused (naming both lines, in the words of
//! go-yaml v3, which kustomize and sops use), and so is nesting deeper than [`MAX_DEPTH`] or
//! aliases that expand past a budget (a "billion laughs" file). A duplicate is refused because
//! the parsers disagree on it: serde keeps the last, sops and kustomize refuse, so the same file
//! would mean two things.
//!
//! [`Guard`] follows parser events, so the parsers that build their own trees from
//! saphyr-parser events (the SOPS reader, the JSON 6902 reader) apply the same rules as
//! [`check`], which the serde-based readers run over the text.

use saphyr_parser::{Event, Parser};
use std::collections::HashMap;
use std::fmt;

/// Deepest nesting accepted; serde_yaml_ng stops at the same depth.
pub const MAX_DEPTH: usize = 128;

/// Nodes aliases may add beyond the text's own, per event of the text (serde_yaml_ng allows
/// as many repetitions), plus a floor for small files.
const EXPANSION_PER_EVENT: usize = 100;
const EXPANSION_FLOOR: usize = 100_000;

/// Why a YAML text breaks a rule, with the 1-based line where it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct StrictError {
    pub line: usize,
    /// The key path of the mapping or sequence the problem is in (`apps.podinfo`, `spec.ports[0]`),
    /// empty at the top.
    pub path: String,
    pub kind: StrictKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrictKind {
    DuplicateKey { key: String, first: usize },
    TooDeep,
    AliasBomb,
    Syntax(String),
}

impl fmt::Display for StrictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictKind::DuplicateKey { key, first } => {
                write!(f, "mapping key {key:?} already defined at line {first}")
            }
            StrictKind::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels"),
            StrictKind::AliasBomb => write!(
                f,
                "aliases expand to more than {EXPANSION_PER_EVENT} times the file's own nodes (a \"billion laughs\" file); write the values out"
            ),
            StrictKind::Syntax(m) => write!(f, "{m}"),
        }
    }
}

impl StrictError {
    /// `file:line: path: message`, the way ferry names a place in a file.
    pub fn at(&self, file: &str) -> String {
        if self.path.is_empty() {
            format!("{file}:{}: {}", self.line, self.kind)
        } else {
            format!("{file}:{}: {}: {}", self.line, self.path, self.kind)
        }
    }
}

/// How yaml.v3 tells keys apart: by node kind and text (a key `1` and `"1"` are the same key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyId {
    Scalar(String),
    Alias(usize),
    Collection,
}

enum Frame {
    Map {
        keys: HashMap<KeyId, usize>,
        /// The key read and waiting for its value.
        pending: Option<String>,
        expansion_start: usize,
        anchor: usize,
    },
    Seq {
        index: usize,
        expansion_start: usize,
        anchor: usize,
    },
    /// A collection used as a mapping key: looked into for depth only.
    Key {
        expansion_start: usize,
        anchor: usize,
    },
}

/// Follows the events of one YAML stream and stops at the first rule broken.
#[derive(Default)]
pub struct Guard {
    frames: Vec<Frame>,
    /// Nodes produced so far, aliases counted at the size of what they repeat.
    nodes: usize,
    events: usize,
    /// Size in nodes of every anchored node.
    anchors: HashMap<usize, usize>,
}

impl Guard {
    pub fn new() -> Guard {
        Guard::default()
    }

    fn path(&self) -> String {
        let mut out = String::new();
        for f in &self.frames {
            match f {
                Frame::Map {
                    pending: Some(k), ..
                } => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Frame::Seq { index, .. } => out.push_str(&format!("[{index}]")),
                _ => {}
            }
        }
        out
    }

    fn fail(&self, line: usize, kind: StrictKind) -> StrictError {
        StrictError {
            line,
            path: self.path(),
            kind,
        }
    }

    /// A complete node (scalar, alias or finished collection) takes its place in its parent:
    /// a key is checked against the mapping's keys (its id is only made for keys).
    fn place(
        &mut self,
        id: impl FnOnce() -> KeyId,
        text: &str,
        line: usize,
    ) -> Result<(), StrictError> {
        let at_key = matches!(self.frames.last(), Some(Frame::Map { pending: None, .. }));
        if !at_key {
            match self.frames.last_mut() {
                Some(Frame::Map { pending, .. }) => *pending = None,
                Some(Frame::Seq { index, .. }) => *index += 1,
                _ => {}
            }
            return Ok(());
        }
        let id = id();
        let first = match self.frames.last() {
            Some(Frame::Map { keys, .. }) => keys.get(&id).copied(),
            _ => None,
        };
        if let Some(first) = first {
            return Err(StrictError {
                line,
                path: self.path(),
                kind: StrictKind::DuplicateKey {
                    key: text.to_string(),
                    first,
                },
            });
        }
        if let Some(Frame::Map { keys, pending, .. }) = self.frames.last_mut() {
            keys.insert(id, line);
            *pending = Some(text.to_string());
        }
        Ok(())
    }

    fn expand(&mut self, by: usize, line: usize) -> Result<(), StrictError> {
        self.nodes = self.nodes.saturating_add(by);
        let budget = self
            .events
            .saturating_mul(EXPANSION_PER_EVENT)
            .max(EXPANSION_FLOOR);
        if self.nodes > budget {
            return Err(self.fail(line, StrictKind::AliasBomb));
        }
        Ok(())
    }

    /// Takes the next event, found at `line`.
    ///
    /// # Errors
    /// The first duplicate key, a nesting past [`MAX_DEPTH`], an alias expansion past budget.
    pub fn event(&mut self, ev: &Event<'_>, line: usize) -> Result<(), StrictError> {
        self.events += 1;
        match ev {
            Event::DocumentStart(_) => self.frames.clear(),
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                self.expand(1, line)?;
                if self.frames.len() >= MAX_DEPTH {
                    return Err(self.fail(line, StrictKind::TooDeep));
                }
                let is_key = matches!(self.frames.last(), Some(Frame::Map { pending: None, .. }))
                    || matches!(self.frames.last(), Some(Frame::Key { .. }));
                let expansion_start = self.nodes - 1;
                let anchor = *anchor;
                self.frames.push(if is_key {
                    Frame::Key {
                        expansion_start,
                        anchor,
                    }
                } else if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map {
                        keys: HashMap::new(),
                        pending: None,
                        expansion_start,
                        anchor,
                    }
                } else {
                    Frame::Seq {
                        index: 0,
                        expansion_start,
                        anchor,
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (start, anchor, was_key) = match self.frames.pop() {
                    Some(Frame::Map {
                        expansion_start,
                        anchor,
                        ..
                    })
                    | Some(Frame::Seq {
                        expansion_start,
                        anchor,
                        ..
                    }) => (expansion_start, anchor, false),
                    Some(Frame::Key {
                        expansion_start,
                        anchor,
                    }) => (expansion_start, anchor, true),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, self.nodes - start);
                }
                if !was_key || !matches!(self.frames.last(), Some(Frame::Key { .. })) {
                    self.place(|| KeyId::Collection, "<collection>", line)?;
                }
            }
            Event::Scalar(text, _, anchor, _) => {
                self.expand(1, line)?;
                if *anchor > 0 {
                    self.anchors.insert(*anchor, 1);
                }
                if !matches!(self.frames.last(), Some(Frame::Key { .. })) {
                    self.place(|| KeyId::Scalar(text.to_string()), text, line)?;
                }
            }
            Event::Alias(id) => {
                let size = self.anchors.get(id).copied().unwrap_or(1);
                self.expand(size, line)?;
                if !matches!(self.frames.last(), Some(Frame::Key { .. })) {
                    self.place(|| KeyId::Alias(*id), "*alias", line)?;
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }
}

/// Checks a YAML stream against the rules. A syntax error is reported as such; the decoder that
/// follows usually gives a better one, so callers may prefer its message.
///
/// # Errors
/// The first rule broken, with its line.
pub fn check(text: &str) -> Result<(), StrictError> {
    let mut guard = Guard::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| StrictError {
            line: e.marker().line(),
            path: String::new(),
            // The scanner's own limit on flow nesting, met before the guard's in `[[[[...`.
            kind: if e.info() == "recursion limit exceeded" {
                StrictKind::TooDeep
            } else {
                StrictKind::Syntax(e.info().to_string())
            },
        })?;
        guard.event(&ev, span.start.line())?;
    }
    Ok(())
}

/// Like [`check`], but a syntax error is not reported: for callers whose own parser reports it.
///
/// # Errors
/// A duplicate key, too deep a nesting or an alias bomb.
pub fn check_rules(text: &str) -> Result<(), StrictError> {
    match check(text) {
        Err(StrictError {
            kind: StrictKind::Syntax(_),
            ..
        }) => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<StrictError> {
        check(text).err()
    }

    #[test]
    fn duplicate_keys_at_any_depth_name_both_lines() {
        let e = kind("apps:\n  a:\n    path: x\n  b: {}\n  a:\n    path: y\n").expect("dup");
        assert_eq!(
            e.to_string(),
            "line 5: mapping key \"a\" already defined at line 2"
        );
        assert_eq!(e.path, "apps");
        let e = kind("l:\n- x: 1\n  y: 2\n  x: 3\n").expect("dup in a list item");
        assert_eq!(e.line, 4);
        assert_eq!(e.path, "l[0]");
        // yaml.v3 compares the text: `1` and "1" are one key.
        assert!(kind("m: {1: a, \"1\": b}\n").is_some());
    }

    #[test]
    fn distinct_keys_and_documents_pass() {
        assert_eq!(check("a: 1\nb: {a: 1, b: [a, a]}\n---\na: 2\n"), Ok(()));
        assert_eq!(check("x: &v {a: 1}\ny: *v\nz: *v\n"), Ok(()));
        assert_eq!(check("? [a, b]\n: 1\n"), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
        assert_eq!(kind(&deep).map(|e| e.kind), Some(StrictKind::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut t = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..9 {
            let p = i - 1;
            t.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(kind(&t).map(|e| e.kind), Some(StrictKind::AliasBomb));
    }

    #[test]
    fn syntax_errors_are_left_to_the_decoder_when_asked() {
        assert!(matches!(
            kind("a: [\n").map(|e| e.kind),
            Some(StrictKind::Syntax(_))
        ));
        assert_eq!(check_rules("a: [\n"), Ok(()));
    }
}
