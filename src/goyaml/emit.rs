//! The document structure go-yaml v2 writes for a JSON value: block mappings with sorted keys,
//! compact block sequences, `[]` and `{}` for empty ones, indent 2. Follows the emitter's
//! state (`emitterc.go`) closely, because its column and whitespace bookkeeping decides
//! where lines break.

use super::number::{format_g, yaml_number};
use super::resolve::plain_is_string;
use super::scalar::{is_break, Analysis, Style};
use super::sort::{sort_keys, sort_keys_v3};
use serde_json::Value;

/// go-yaml's `best_indent`.
pub(super) const INDENT: i32 = 2;
/// go-yaml's `best_width`: plain and quoted scalars fold at the first space past this column.
pub(super) const WIDTH: usize = 80;
/// Keys longer than this many bytes are written as `? key` / `: value`.
const SIMPLE_KEY_MAX: usize = 128;

/// Where a node sits, as the emitter's `*_context` flags record it.
#[derive(Clone, Copy, Default)]
pub(super) struct Context {
    pub mapping: bool,
    pub simple_key: bool,
}

pub(super) struct Emitter {
    pub out: String,
    /// Characters (not bytes) written on the current line.
    pub column: usize,
    /// The last thing written was whitespace (or nothing).
    pub whitespace: bool,
    /// Only indentation and indicators such as `- ` are on the current line so far.
    pub indention: bool,
    pub indent: i32,
    indents: Vec<i32>,
    /// Go's natural key order (what kubectl writes); off to keep a document's own order.
    sort: bool,
    /// go-yaml v3 with indent 2 (Helm's `toYamlPretty`): sequences in mappings are indented,
    /// keys in v3's order, numbers as Go prints their type, no folding of long lines.
    v3: bool,
    /// Plain and quoted scalars fold at the first space past this column.
    pub width: usize,
}

/// The first character in `value` that the pipeline cannot carry: Go's JSON writes DEL, C1
/// controls and U+FFFE/U+FFFF raw, and go-yaml v2 refuses to read them back, so
/// `sigs.k8s.io/yaml` fails where [`to_yaml`] would not. NEL (U+0085) is refused in keys
/// only; in values it is folded (see [`fold_nel`]).
pub fn unwritable_char(value: &Value) -> Option<char> {
    let refused = |c: char| {
        ('\u{7f}'..='\u{9f}').contains(&c) && c != '\u{85}' || c == '\u{fffe}' || c == '\u{ffff}'
    };
    // Every refused character is encoded with a lead byte of 0x7F (DEL), 0xC2 (U+0080 to
    // U+00BF) or 0xEF (U+F000 to U+FFFF): text without one needs no decoding.
    let suspect = |s: &str| s.bytes().any(|b| matches!(b, 0x7f | 0xc2 | 0xef));
    match value {
        Value::String(s) => suspect(s)
            .then(|| s.chars().find(|&c| refused(c)))
            .flatten(),
        Value::Array(items) => items.iter().find_map(unwritable_char),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            suspect(k)
                .then(|| k.chars().find(|&c| refused(c) || c == '\u{85}'))
                .flatten()
                .or_else(|| unwritable_char(v))
        }),
        _ => None,
    }
}

/// What go-yaml v2 reads back from a JSON string holding raw NEL characters (Go's JSON does
/// not escape them, and YAML takes NEL for a line break inside a double-quoted scalar): each
/// run of breaks, with the spaces around it, folds to one space, or to one newline fewer
/// than the breaks.
pub fn fold_nel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{85}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c != ' ' && c != '\u{85}' {
            out.push(c);
            chars.next();
            continue;
        }
        // A run of spaces and breaks.
        let (mut spaces, mut breaks) = (String::new(), 0usize);
        while let Some(&c) = chars.peek() {
            match c {
                ' ' if breaks == 0 => spaces.push(' '),
                ' ' => {}
                '\u{85}' => breaks += 1,
                _ => break,
            }
            chars.next();
        }
        match breaks {
            0 => out.push_str(&spaces),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes `value` as `sigs.k8s.io/yaml` `Marshal` does (Go's JSON encoding of the value read
/// back and written by go-yaml v2). Ends with a newline.
pub fn to_yaml(value: &Value) -> String {
    emit(value, true)
}

/// Like [`to_yaml`], but mapping keys stay in the value's own order. For documents whose
/// integrity depends on that order, such as SOPS files (their MAC covers values in order).
pub fn to_yaml_in_order(value: &Value) -> String {
    emit(value, false)
}

/// What go-yaml v3's encoder with `SetIndent(2)` writes for the Go value `value` stands for
/// (Helm's `toYamlPretty`). Ends with a newline.
pub fn to_yaml_v3(value: &Value) -> String {
    emit_with(value, true, true)
}

fn emit(value: &Value, sort: bool) -> String {
    emit_with(value, sort, false)
}

fn emit_with(value: &Value, sort: bool, v3: bool) -> String {
    let mut e = Emitter {
        sort,
        v3,
        width: if v3 { usize::MAX } else { WIDTH },
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
    };
    e.node(value, Context::default());
    // DOCUMENT-END: close the last line.
    e.write_indent();
    e.out
}

impl Emitter {
    fn node(&mut self, value: &Value, ctx: Context) {
        match value {
            Value::Null => self.scalar("null", Style::Plain, ctx),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, Style::Plain, ctx),
            Value::Number(n) if self.v3 => {
                let text = match n.as_f64().filter(|_| n.is_f64()) {
                    Some(f) => format_g(f),
                    None => n.to_string(),
                };
                self.scalar(&text, Style::Plain, ctx)
            }
            Value::Number(n) => self.scalar(&yaml_number(n), Style::Plain, ctx),
            Value::String(s) => self.string(s, ctx),
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) => self.block_sequence(items, ctx),
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                if self.v3 {
                    sort_keys_v3(&mut entries, |(k, _)| k.as_str());
                } else if self.sort {
                    sort_keys(&mut entries, |(k, _)| k.as_str());
                }
                self.block_mapping(&entries);
            }
        }
    }

    /// A string node (a value or a mapping key).
    fn string(&mut self, s: &str, ctx: Context) {
        // NEL is folded by v2 reading Go's JSON back; v3 is handed the string itself.
        let s = &*if self.v3 {
            std::borrow::Cow::Borrowed(s)
        } else {
            fold_nel(s)
        };
        // encode.go `stringv`: newlines ask for a literal block, text that would read back as
        // something else for double quotes; the emitter may still overrule.
        let style = if s.contains('\n') {
            Style::Literal
        } else if plain_is_string(s) {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        self.scalar(s, style, ctx);
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Context) {
        // A sequence that is a mapping value and starts on the key's line is "indentless":
        // its dashes sit at the key's column.
        // go-yaml v3 has no indentless sequences (unless asked for compact ones).
        let indentless = !self.v3 && ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default());
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&String, &Value)]) {
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            let value_ctx = Context {
                mapping: true,
                simple_key: false,
            };
            let multiline = key.chars().any(is_break);
            if !multiline && key.len() <= SIMPLE_KEY_MAX {
                self.string(
                    key,
                    Context {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.string(key, value_ctx);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, value_ctx);
        }
        self.pop_indent();
    }

    fn scalar(&mut self, text: &str, requested: Style, ctx: Context) {
        let chars: Vec<char> = text.chars().collect();
        let analysis = Analysis::of(text, &chars);
        let style = analysis.select_style(text, requested, ctx);
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(&chars, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(&chars, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(text, &chars, allow_breaks),
            Style::Literal => self.write_literal(&chars),
        }
        self.pop_indent();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { INDENT } else { 0 };
        } else if !indentless {
            self.indent += INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    pub(super) fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    pub(super) fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// A line break taken from the value: `\n` is written as the output's line break, the
    /// other break characters (CR, NEL, LS, PS) as themselves.
    pub(super) fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    pub(super) fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    pub(super) fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_sequences_sorted_keys_and_empty_collections() {
        let v = json!({"spec": {"b": [{"name": "x", "args": ["a", ["b", "c"]]}], "a": [], "c": {}}, "_x": 1, "B": null});
        assert_eq!(
            to_yaml(&v),
            "_x: 1\nB: null\nspec:\n  a: []\n  b:\n  - args:\n    - a\n    - - b\n      - c\n    name: x\n  c: {}\n"
        );
    }

    #[test]
    fn literal_blocks_with_chomping_and_indentation_indicators() {
        let v = json!({"a": "x\ny", "b": "x\n", "c": "x\n\n", "d": " x\ny", "e": "x \ny", "f": "x\ny "});
        assert_eq!(
            to_yaml(&v),
            "a: |-\n  x\n  y\nb: |\n  x\nc: |+\n  x\n\nd: |2-\n   x\n  y\ne: \"x \\ny\"\nf: \"x\\ny \"\n"
        );
    }

    #[test]
    fn long_scalars_fold_at_column_80() {
        let text = (0..20)
            .map(|i| format!("word{i:02}"))
            .collect::<Vec<_>>()
            .join(" ");
        let v = json!({"k": text, "q": format!("{text}\t")});
        assert_eq!(
            to_yaml(&v),
            "k: word00 word01 word02 word03 word04 word05 word06 word07 word08 word09 word10 word11\n  \
             word12 word13 word14 word15 word16 word17 word18 word19\n\
             q: \"word00 word01 word02 word03 word04 word05 word06 word07 word08 word09 word10 word11\n  \
             word12 word13 word14 word15 word16 word17 word18 word19\\t\"\n"
        );
    }

    #[test]
    fn long_and_multiline_keys_use_explicit_form() {
        let v = json!({"x".repeat(129): 1, "a\nb": "v"});
        assert_eq!(
            to_yaml(&v),
            format!("? |-\n  a\n  b\n: v\n? {}\n: 1\n", "x".repeat(129))
        );
    }

    #[test]
    fn merge_key_is_an_ordinary_key_on_output() {
        // go-yaml v2 reads a quoted JSON `"<<"` key as a string, so it is written plain.
        assert_eq!(to_yaml(&json!({"<<": 1, "b": 2})), "<<: 1\nb: 2\n");
    }

    #[test]
    fn scalar_and_empty_roots() {
        assert_eq!(to_yaml(&json!("x")), "x\n");
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([])), "[]\n");
        assert_eq!(to_yaml(&json!([1, [2]])), "- 1\n- - 2\n");
    }
}
