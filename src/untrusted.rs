//! Text ferry did not write, shown to a person: a tar entry name, a registry's or API server's
//! message, a renderer's stderr, a file name from a repository. Printed raw, its control
//! characters could move the cursor, recolour or clear the terminal, hide text behind
//! bidirectional overrides, or forge a line that looks like ferry's own. So every such string
//! goes through [`escape`] (a single value in a message) or [`escape_message`] (a whole message,
//! whose line breaks are ferry's) before it reaches a terminal.

use std::borrow::Cow;
use std::fmt;

/// Whether `c` must not reach a terminal as itself: C0 and C1 controls, DEL, and the Unicode
/// formatting characters that reorder or hide text (bidi embeddings, overrides and isolates,
/// zero-width characters, the line and paragraph separators).
fn dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

fn escape_with(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| dangerous(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if dangerous(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One untrusted value (a name, a path, a reason): every control and formatting character is
/// escaped (`\n`, `\x1b`, `\u{202e}`), so the value stays on one line and prints as it is.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_with(s, |_| false)
}

/// A whole message that may quote untrusted text: line breaks and tabs stay (a message has
/// lines: the error, its causes, a hint), every other control or formatting character is
/// escaped.
pub fn escape_message(s: &str) -> Cow<'_, str> {
    escape_with(s, |c| c == '\n' || c == '\t')
}

/// Displays a value [`escape`]d: `format!("{}", Untrusted(name))`.
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(escape("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape("evil\u{202e}txt.yaml"), "evil\\u{202e}txt.yaml");
        assert_eq!(escape("x\ny\rz\0"), "x\\ny\\rz\\x00");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("\x7f"), "\\x7f");
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        assert!(matches!(
            escape("deployment_web.yaml é 日本"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            escape_message("error: x\nhint: y"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_message_keeps_its_lines_but_not_their_escapes() {
        assert_eq!(
            escape_message("error: \x1b]0;pwned\x07\nhint: \ttry"),
            "error: \\x1b]0;pwned\\x07\nhint: \ttry"
        );
        assert_eq!(Untrusted("a\nb").to_string(), "a\\nb");
    }
}
