//! Documents to YAML text, laid out like go-yaml v3 with a 4-space indent (what sops prints):
//! nested blocks on the next multiple of four, the first level inside a list item two past the
//! dash, comments on their own lines at the indentation of what they precede.

use super::scalar::{double_quoted, format_float_g, single_quoted, style, Style};
use crate::secrets::sops::tree::{Branch, Comment, Item, Value};

const BEST_INDENT: usize = 4;

/// Where a node is written, which decides how far its block is indented.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    MapValue,
    SeqItem,
}

fn increase(indent: Option<usize>, ctx: Ctx) -> usize {
    match (indent, ctx) {
        (None, _) => 0,
        (Some(i), Ctx::SeqItem) => i + 2,
        (Some(i), _) => BEST_INDENT * ((i + BEST_INDENT) / BEST_INDENT),
    }
}

struct W {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    /// Indentation of the node holding the scalar being written (for `|N` hints).
    parent_indent: usize,
}

impl W {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += s.chars().count();
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
    }

    /// libyaml's `write_indent`: break the line unless already at a fresh indentation.
    fn indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.newline();
        }
        while self.column < indent {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(&mut self, s: &str, need_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.push(" ");
        }
        self.push(s);
        self.whitespace = false;
        self.indention = self.indention && is_indention;
    }

    fn comments(&mut self, comments: &[&Comment], indent: usize) {
        for c in comments {
            self.indent(indent);
            self.push("#");
            self.push(&c.text);
            self.newline();
        }
    }

    /// A scalar written after a key's `:` or a `- `; `indent` is its block's indentation.
    fn scalar(&mut self, v: &Value, indent: usize, key: bool) {
        let text = match v {
            Value::Null => "null".to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float_g(*f),
            Value::Time(t) => t.clone(),
            Value::Str(s) => return self.string(s, indent, key),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => return self.string(s, indent, key),
                Err(_) => {
                    use base64::Engine;
                    format!(
                        "!!binary {}",
                        base64::engine::general_purpose::STANDARD.encode(b)
                    )
                }
            },
            Value::Comment(_) | Value::Map(_) | Value::List(_) => String::new(),
        };
        self.indicator(&text, true, false);
    }

    fn string(&mut self, s: &str, indent: usize, key: bool) {
        // go-yaml tags the string `<<` (the merge key) instead of quoting it.
        if s == "<<" {
            return self.indicator("!!merge <<", true, false);
        }
        match style(s, key) {
            Style::Plain => self.indicator(s, true, false),
            Style::Single => self.indicator(&single_quoted(s), true, false),
            Style::Double => self.indicator(&double_quoted(s), true, false),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        let mut hints = String::from("|");
        if s.starts_with([' ', '\n']) {
            // go-yaml writes the best indent here; the hint must be the real distance from
            // the parent's indentation for the text to read back, which it is at indent 4n.
            hints.push_str(&indent.saturating_sub(self.parent_indent).max(1).to_string());
        }
        if !s.ends_with('\n') {
            hints.push('-');
        } else if s == "\n" || s.ends_with("\n\n") {
            hints.push('+');
        }
        self.indicator(&hints, true, false);
        self.newline();
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            if !line.is_empty() {
                self.indent(indent);
                self.push(line);
            }
            self.newline();
        }
        // The newline above ends the scalar; a kept trailing newline is an empty line already.
        if !s.ends_with('\n') {
            // `|-`: nothing more.
        }
        self.indention = true;
        self.whitespace = true;
        // The next write_indent must not add a second break.
        self.column = 0;
    }

    fn node(&mut self, v: &Value, parent: Option<usize>, ctx: Ctx) {
        match v {
            Value::Map(b) if b.iter().any(|i| matches!(i, Item::Entry(..))) => {
                self.map(b, parent, ctx)
            }
            Value::Map(_) => self.indicator("{}", true, false),
            Value::List(items) if items.iter().any(|i| !matches!(i, Value::Comment(_))) => {
                self.list(items, parent, ctx)
            }
            Value::List(_) => self.indicator("[]", true, false),
            // A literal with an indentation indicator inside a list item would be read back
            // with the wrong indentation: quote it instead.
            Value::Str(s)
                if ctx == Ctx::SeqItem && s.contains('\n') && s.starts_with([' ', '\n']) =>
            {
                self.indicator(&double_quoted(s), true, false)
            }
            scalar => {
                let ind = increase(parent, ctx);
                self.parent_indent = parent.unwrap_or(0);
                self.scalar(scalar, ind, false);
            }
        }
    }

    fn map(&mut self, branch: &Branch, parent: Option<usize>, ctx: Ctx) {
        let indent = increase(parent, ctx);
        let mut comments: Vec<&Comment> = Vec::new();
        for item in branch {
            match item {
                Item::Comment(c) => comments.push(c),
                Item::Entry(k, v) => {
                    self.comments(&comments, indent);
                    comments.clear();
                    self.indent(indent);
                    self.string(k, indent, true);
                    self.indicator(":", false, false);
                    self.node(v, Some(indent), Ctx::MapValue);
                }
            }
        }
        self.comments(&comments, indent);
    }

    fn list(&mut self, items: &[Value], parent: Option<usize>, ctx: Ctx) {
        let indent = increase(parent, ctx);
        let mut comments: Vec<Comment> = Vec::new();
        for item in items {
            if let Value::Comment(c) = item {
                comments.push(c.clone());
                continue;
            }
            // go-yaml writes the comments that open a nested block (its head comment) above
            // the dash, at the list's indentation.
            let (lead, rest) = split_leading_comments(item);
            comments.extend(lead);
            self.comments(&comments.iter().collect::<Vec<_>>(), indent);
            comments.clear();
            self.indent(indent);
            self.indicator("-", true, true);
            self.node(rest.as_ref().unwrap_or(item), Some(indent), Ctx::SeqItem);
        }
        self.comments(&comments.iter().collect::<Vec<_>>(), indent);
    }
}

/// The comments that open a list item, which go-yaml writes above its dash: the leading
/// comments of a non-empty map or list, and for a list, those of its first element too (it
/// starts on the same line). Returns the item without them when there were any.
fn split_leading_comments(v: &Value) -> (Vec<Comment>, Option<Value>) {
    match v {
        Value::Map(b) if b.iter().any(|i| matches!(i, Item::Entry(..))) => {
            let n = b
                .iter()
                .take_while(|i| matches!(i, Item::Comment(_)))
                .count();
            let lead = b[..n]
                .iter()
                .filter_map(|i| {
                    if let Item::Comment(c) = i {
                        Some(c.clone())
                    } else {
                        None
                    }
                })
                .collect();
            (lead, (n > 0).then(|| Value::Map(b[n..].to_vec())))
        }
        Value::List(l) if l.iter().any(|i| !matches!(i, Value::Comment(_))) => {
            let n = l
                .iter()
                .take_while(|i| matches!(i, Value::Comment(_)))
                .count();
            let mut lead: Vec<Comment> = l[..n]
                .iter()
                .filter_map(|i| {
                    if let Value::Comment(c) = i {
                        Some(c.clone())
                    } else {
                        None
                    }
                })
                .collect();
            let (inner, first) = split_leading_comments(&l[n]);
            if n == 0 && first.is_none() {
                return (lead, None);
            }
            lead.extend(inner);
            let mut rest = vec![first.unwrap_or_else(|| l[n].clone())];
            rest.extend(l[n + 1..].iter().cloned());
            (lead, Some(Value::List(rest)))
        }
        _ => (Vec::new(), None),
    }
}

/// Writes documents separated by `---`, as sops' YAML store does.
pub fn emit(docs: &[Branch]) -> String {
    let mut w = W {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        parent_indent: 0,
    };
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            w.indent(0);
            w.push("---");
            w.whitespace = false;
            w.indention = false;
        }
        if doc.iter().any(|i| matches!(i, Item::Entry(..))) {
            w.map(doc, None, Ctx::Root);
        } else {
            let comments: Vec<&Comment> = doc
                .iter()
                .filter_map(|i| {
                    if let Item::Comment(c) = i {
                        Some(c)
                    } else {
                        None
                    }
                })
                .collect();
            w.comments(&comments, 0);
            w.indent(0);
            w.push("{}");
        }
        if w.column > 0 {
            w.newline();
        }
    }
    w.out
}
