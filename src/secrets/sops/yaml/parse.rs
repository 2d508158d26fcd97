//! YAML text to documents. The event parser gives structure and positions; comments are found
//! in the text between events and placed the way go-yaml attaches them (above the entry that
//! follows, or at the end of the mapping whose indentation they share).

use super::scalar::resolve_plain;
use crate::secrets::sops::tree::{Branch, Comment, Item, Value};
use crate::secrets::sops::SopsError;
use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

fn err(line: Option<usize>, message: impl Into<String>) -> SopsError {
    SopsError::Parse {
        format: "YAML",
        line,
        message: message.into(),
    }
}

/// A comment found in the text.
struct Found {
    /// Written after a `- ` on the same line: it opens the item that follows.
    after_dash: bool,
    pos: usize,
    line: usize,
    col: usize,
    text: String,
}

/// Byte offset of every char index (the parser's markers count chars).
fn char_offsets(text: &str) -> Vec<usize> {
    let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    v.push(text.len());
    v
}

/// Every `#` comment outside the given scalar byte ranges, in text order.
fn find_comments(text: &str, scalars: &[(usize, usize)]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut ranges = scalars.iter().peekable();
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut line_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        while let Some(&&(_, end)) = ranges.peek() {
            if end <= i {
                ranges.next();
            } else {
                break;
            }
        }
        if let Some(&&(start, end)) = ranges.peek() {
            if start <= i && i < end {
                // Skip the scalar, counting its lines.
                for &b in &bytes[i..end] {
                    if b == b'\n' {
                        line += 1;
                    }
                }
                if let Some(nl) = bytes[i..end].iter().rposition(|b| *b == b'\n') {
                    line_start = i + nl + 1;
                }
                i = end;
                continue;
            }
        }
        match bytes[i] {
            b'\n' => {
                line += 1;
                line_start = i + 1;
            }
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let before = text[line_start..i].trim();
                out.push(Found {
                    after_dash: !before.is_empty() && before.chars().all(|c| c == '-' || c == ' '),
                    pos: i,
                    line,
                    col: text[line_start..i].chars().count(),
                    text: text[i + 1..end].trim_end_matches('\r').to_string(),
                });
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

enum Frame {
    Map {
        branch: Branch,
        key: Option<String>,
        indent: Option<usize>,
        anchor: usize,
    },
    List {
        items: Vec<Value>,
        indent: Option<usize>,
        anchor: usize,
    },
}

impl Frame {
    fn indent(&self) -> Option<usize> {
        match self {
            Frame::Map { indent, .. } | Frame::List { indent, .. } => *indent,
        }
    }

    fn push_comment(&mut self, c: Comment) {
        match self {
            Frame::Map { branch, .. } => branch.push(Item::Comment(c)),
            Frame::List { items, .. } => items.push(Value::Comment(c)),
        }
    }
}

struct Builder {
    frames: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    docs: Vec<Branch>,
    /// Own-line comments waiting for the next event to know where they go.
    pending: Vec<Found>,
    /// Line of the end of the last scalar that completed a value, for same-line comments.
    last_value_line: Option<usize>,
    doc_open: bool,
    doc_comments: Vec<Comment>,
}

fn to_comment(f: &Found) -> Comment {
    Comment::new(f.text.clone())
}

impl Builder {
    /// Puts pending comments into the innermost container, leaving those indented less than a
    /// block container for its parent.
    fn flush_pending_into_top(&mut self, closing: bool) {
        let pending = std::mem::take(&mut self.pending);
        let mut keep = Vec::new();
        let nested = self.frames.len() > 1;
        for f in pending {
            match self.frames.last_mut() {
                Some(frame) => {
                    let shallower = frame.indent().is_some_and(|ind| f.col < ind);
                    if closing && shallower && nested {
                        keep.push(f);
                    } else {
                        frame.push_comment(to_comment(&f));
                    }
                }
                None => self.doc_comments.push(to_comment(&f)),
            }
        }
        self.pending = keep;
    }

    /// A finished value goes into its parent (or becomes a document).
    fn complete(
        &mut self,
        value: Value,
        anchor: usize,
        line: Option<usize>,
    ) -> Result<(), SopsError> {
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.frames.last_mut() {
            Some(Frame::Map { branch, key, .. }) => match key.take() {
                Some(k) => {
                    branch.push(Item::Entry(k, value));
                    self.last_value_line = line;
                }
                None => {
                    let Value::Str(k) = value else {
                        return Err(err(line, "mapping keys must be scalars"));
                    };
                    // Duplicate keys were refused by the guard (the MAC would be ambiguous).
                    *key = Some(k);
                }
            },
            Some(Frame::List { items, .. }) => {
                items.push(value);
                self.last_value_line = line;
            }
            None => {
                let branch = match value {
                    Value::Map(b) => b,
                    Value::Null => Vec::new(),
                    _ => return Err(err(line, "a document must be a mapping (sops does not support other top-level values)")),
                };
                let mut doc: Branch = std::mem::take(&mut self.doc_comments)
                    .into_iter()
                    .map(Item::Comment)
                    .collect();
                doc.extend(branch);
                self.docs.push(doc);
            }
        }
        Ok(())
    }

    fn is_key_position(&self) -> bool {
        matches!(self.frames.last(), Some(Frame::Map { key: None, .. }))
    }
}

/// Parses a YAML stream into documents (each must be a mapping).
///
/// # Errors
/// Syntax errors with their line, and documents that are not mappings.
pub fn parse(text: &str) -> Result<Vec<Branch>, SopsError> {
    let offsets = char_offsets(text);
    let byte = |ci: usize| offsets.get(ci).copied().unwrap_or(text.len());
    let mut events = Vec::new();
    // Duplicate keys (sops refuses them, in these words), depth and alias expansion are
    // checked as events arrive, before anything is built.
    let mut guard = crate::manifest::strict::Guard::new();
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| err(Some(e.marker().line()), e.info()))?;
        guard.event(&ev, span.start.line()).map_err(|e| {
            let at = if e.path.is_empty() {
                e.kind.to_string()
            } else {
                format!("{}: {}", e.path, e.kind)
            };
            err(Some(e.line), at)
        })?;
        events.push((ev, byte(span.start.index()), byte(span.end.index())));
    }
    let mut scalars: Vec<(usize, usize)> = events
        .iter()
        .filter(|(e, _, _)| matches!(e, Event::Scalar(..)))
        .map(|(_, s, e)| (*s, *e))
        .collect();
    scalars.sort_unstable();
    let mut comments = find_comments(text, &scalars).into_iter().peekable();
    // Line starts, once: positions are looked up by binary search (files can be large).
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let line_of = |pos: usize| line_starts.partition_point(|&s| s <= pos.min(text.len()));
    let col_of = |pos: usize| {
        // Positions may fall inside a multi-byte character (end - 1).
        let mut p = pos.min(text.len());
        while !text.is_char_boundary(p) {
            p -= 1;
        }
        text[line_starts[line_of(p) - 1]..p].chars().count()
    };

    let mut b = Builder {
        frames: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        pending: Vec::new(),
        last_value_line: None,
        doc_open: false,
        doc_comments: Vec::new(),
    };
    for (ev, start, end) in events {
        // Comments before this event: same-line ones follow a value, the rest wait.
        while let Some(c) = comments.next_if(|c| c.pos < start) {
            if b.pending.is_empty() && b.last_value_line == Some(c.line) {
                // A comment on the line of the value just read goes above that entry.
                let comment = to_comment(&c);
                match b.frames.last_mut() {
                    Some(Frame::Map { branch, .. }) => {
                        let at = branch.len().saturating_sub(1);
                        branch.insert(at, Item::Comment(comment));
                    }
                    Some(Frame::List { items, .. }) => {
                        let at = items.len().saturating_sub(1);
                        items.insert(at, Value::Comment(comment));
                    }
                    None => b.pending.push(c),
                }
            } else {
                b.pending.push(c);
            }
        }
        let line = line_of(start);
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                b.doc_open = true;
                b.last_value_line = None;
            }
            Event::DocumentEnd => {
                b.flush_pending_into_top(false);
                if let Some(last) = b.docs.last_mut() {
                    // Comments after the root mapping ended.
                    last.extend(
                        std::mem::take(&mut b.doc_comments)
                            .into_iter()
                            .map(Item::Comment),
                    );
                } else if !b.doc_comments.is_empty() {
                    b.docs.push(
                        std::mem::take(&mut b.doc_comments)
                            .into_iter()
                            .map(Item::Comment)
                            .collect(),
                    );
                }
                b.doc_open = false;
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                if b.is_key_position() {
                    return Err(err(Some(line), "complex mapping keys are not supported"));
                }
                // Comments between a key and its block value belong to the value (go-yaml
                // makes them its head comment); before a list item they stay in the list.
                let value_of_key = matches!(b.frames.last(), Some(Frame::Map { key: Some(_), .. }));
                let opening: Vec<Found>;
                if value_of_key {
                    opening = std::mem::take(&mut b.pending);
                } else {
                    let (dash, rest): (Vec<Found>, Vec<Found>) = std::mem::take(&mut b.pending)
                        .into_iter()
                        .partition(|f| f.after_dash);
                    b.pending = rest;
                    b.flush_pending_into_top(false);
                    opening = dash;
                }
                let pending = opening;
                let flow = text[start..].starts_with(['{', '[']);
                let indent = (!flow).then(|| col_of(start));
                let mut frame = if is_map {
                    Frame::Map {
                        branch: Vec::new(),
                        key: None,
                        indent,
                        anchor,
                    }
                } else {
                    Frame::List {
                        items: Vec::new(),
                        indent,
                        anchor,
                    }
                };
                for f in pending {
                    frame.push_comment(to_comment(&f));
                }
                b.frames.push(frame);
                b.last_value_line = None;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                b.flush_pending_into_top(true);
                let value_line = Some(line_of(end.max(start)));
                match b.frames.pop() {
                    Some(Frame::Map {
                        branch,
                        key,
                        anchor,
                        ..
                    }) => {
                        if key.is_some() {
                            return Err(err(Some(line), "mapping key without a value"));
                        }
                        b.complete(Value::Map(branch), anchor, None)?;
                    }
                    Some(Frame::List { items, anchor, .. }) => {
                        b.complete(Value::List(items), anchor, None)?
                    }
                    None => return Err(err(Some(line), "unbalanced YAML structure")),
                }
                let _ = value_line;
                b.last_value_line = None;
            }
            Event::Alias(id) => {
                b.flush_pending_into_top(false);
                let v = b
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err(Some(line), "alias to an unknown anchor"))?;
                b.complete(v, 0, Some(line_of(end)))?;
            }
            Event::Scalar(s, style, anchor, tag) => {
                b.flush_pending_into_top(false);
                let v = if b.is_key_position() {
                    Value::Str(s.to_string())
                } else {
                    scalar_value(&s, style, tag.as_deref().map(|t| t.suffix.as_str()), line)?
                };
                // A block scalar's span runs into the next line: no comment shares its line.
                let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                let end_line = (!block).then(|| line_of(end.saturating_sub(1).max(start)));
                b.complete(v, anchor, end_line)?;
            }
        }
    }
    // Comments after the last event.
    let rest: Vec<Found> = comments.collect();
    if !rest.is_empty() {
        let items = rest.iter().map(|f| Item::Comment(to_comment(f)));
        match b.docs.last_mut() {
            Some(doc) => doc.extend(items),
            None => b.docs.push(items.collect()),
        }
    }
    Ok(b.docs)
}

fn scalar_value(
    s: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    line: usize,
) -> Result<Value, SopsError> {
    let core = tag.map(|t| t.trim_start_matches("tag:yaml.org,2002:"));
    Ok(match core {
        Some("str") => Value::Str(s.to_string()),
        Some("binary") => {
            use base64::Engine;
            let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .map_err(|_| err(Some(line), "!!binary value is not base64"))?;
            match String::from_utf8(bytes) {
                Ok(s) => Value::Str(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            }
        }
        Some("int" | "float" | "bool" | "null") => resolve_plain(s),
        _ if style == ScalarStyle::Plain => resolve_plain(s),
        _ => Value::Str(s.to_string()),
    })
}
