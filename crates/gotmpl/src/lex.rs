//! The lexer: Go's text/template/parse state machine, item for item, so that positions, line
//! numbers and error texts come out as Go reports them.

use crate::quote::quote_trunc;
use std::borrow::Cow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemType {
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords follow; `Keyword` only separates them from the rest.
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// A lexed item. Its text borrows the template source (only an error's message is owned):
/// the parser clones items as it peeks and backs up, and owned strings made every clone an
/// allocation and a copy of the whole text run.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub typ: ItemType,
    pub pos: usize,
    pub val: Cow<'a, str>,
    pub line: usize,
}

impl Item<'_> {
    /// The item as Go's `item.String()` shows it in "unexpected ..." errors.
    pub fn describe(&self) -> String {
        match self.typ {
            ItemType::Eof => "EOF".into(),
            ItemType::Error => self.val.to_string(),
            t if t > ItemType::Keyword => format!("<{}>", self.val),
            _ if self.val.chars().count() > 10 => format!("{}...", quote_trunc(&self.val, 10)),
            _ => quote_trunc(&self.val, usize::MAX),
        }
    }
}

fn keyword(word: &str) -> Option<ItemType> {
    Some(match word {
        "." => ItemType::Dot,
        "block" => ItemType::Block,
        "break" => ItemType::Break,
        "continue" => ItemType::Continue,
        "define" => ItemType::Define,
        "else" => ItemType::Else,
        "end" => ItemType::End,
        "if" => ItemType::If,
        "range" => ItemType::Range,
        "nil" => ItemType::Nil,
        "template" => ItemType::Template,
        "with" => ItemType::With,
        _ => return None,
    })
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
const TRIM_MARKER_LEN: usize = 2;

#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Space,
    Identifier,
    Field,
    Variable,
    Char,
    Number,
    Quote,
    RawQuote,
}

pub struct Lexer<'a> {
    input: &'a str,
    /// Cleared (as Go empties its input) after an error, so EOF follows.
    len: usize,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: i64,
    line: usize,
    start_line: usize,
    item: Option<Item<'a>>,
    inside_action: bool,
    pub break_ok: bool,
    pub continue_ok: bool,
}

fn is_space(r: char) -> bool {
    matches!(r, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(r: char) -> bool {
    r == '_' || r.is_alphabetic() || is_unicode_digit(r)
}

/// Go's unicode.IsDigit: decimal digits (Nd) of any script.
fn is_unicode_digit(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_digit();
    }
    // Approximation: Rust has no Nd table; other numerics are rare in identifiers.
    r.is_numeric()
}

fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn trim_right_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn trim_left_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str) -> Self {
        Lexer {
            input,
            len: input.len(),
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            item: None,
            inside_action: false,
            break_ok: true,
            continue_ok: true,
        }
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..self.len).unwrap_or("")
    }

    fn from(&self, p: usize) -> &'a str {
        self.input.get(p.min(self.len)..self.len).unwrap_or("")
    }

    fn next(&mut self) -> Option<char> {
        match self.rest().chars().next() {
            None => {
                self.at_eof = true;
                None
            }
            Some(r) => {
                self.pos += r.len_utf8();
                if r == '\n' {
                    self.line += 1;
                }
                Some(r)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self) {
        if !self.at_eof && self.pos > 0 {
            if let Some(r) = self.input[..self.pos].chars().next_back() {
                self.pos -= r.len_utf8();
                if r == '\n' {
                    self.line -= 1;
                }
            }
        }
    }

    fn this_item(&mut self, typ: ItemType) -> Item<'a> {
        let i = Item {
            typ,
            pos: self.start,
            val: Cow::Borrowed(&self.input[self.start..self.pos]),
            line: self.start_line,
        };
        self.start = self.pos;
        self.start_line = self.line;
        i
    }

    fn emit(&mut self, typ: ItemType) -> Option<State> {
        let i = self.this_item(typ);
        self.item = Some(i);
        None
    }

    fn emit_item(&mut self, i: Item<'a>) -> Option<State> {
        self.item = Some(i);
        None
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(r) if valid.contains(r) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(r) = self.next() {
            if !valid.contains(r) {
                break;
            }
        }
        self.backup();
    }

    fn errorf(&mut self, msg: String) -> Option<State> {
        self.item = Some(Item {
            typ: ItemType::Error,
            pos: self.start,
            val: Cow::Owned(msg),
            line: self.start_line,
        });
        self.start = 0;
        self.pos = 0;
        self.len = 0;
        None
    }

    pub fn next_item(&mut self) -> Item<'a> {
        self.item = None;
        let eof = Item {
            typ: ItemType::Eof,
            pos: self.pos,
            val: Cow::Borrowed("EOF"),
            line: self.start_line,
        };
        let mut state = if self.inside_action {
            State::InsideAction
        } else {
            State::Text
        };
        loop {
            match self.step(state) {
                Some(s) => state = s,
                None => return self.item.take().unwrap_or(eof),
            }
        }
    }

    fn step(&mut self, s: State) -> Option<State> {
        match s {
            State::Text => self.lex_text(),
            State::LeftDelim => self.lex_left_delim(),
            State::Comment => self.lex_comment(),
            State::RightDelim => self.lex_right_delim(),
            State::InsideAction => self.lex_inside_action(),
            State::Space => self.lex_space(),
            State::Identifier => self.lex_identifier(),
            State::Field => self.lex_field_or_variable(ItemType::Field),
            State::Variable => {
                if self.at_terminator() {
                    return self.emit(ItemType::Variable);
                }
                self.lex_field_or_variable(ItemType::Variable)
            }
            State::Char => self.lex_quoted('\'', "unterminated character constant"),
            State::Number => self.lex_number(),
            State::Quote => self.lex_quoted('"', "unterminated quoted string"),
            State::RawQuote => self.lex_raw_quote(),
        }
    }

    fn lex_text(&mut self) -> Option<State> {
        if let Some(x) = self.rest().find(LEFT) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT.len();
                let trim = if has_left_trim(self.from(delim_end)) {
                    trim_right_len(&self.input[self.start..self.pos])
                } else {
                    0
                };
                self.pos -= trim;
                self.line += self.input[self.start..self.pos].matches('\n').count();
                let i = self.this_item(ItemType::Text);
                self.pos += trim;
                self.ignore();
                if !i.val.is_empty() {
                    return self.emit_item(i);
                }
            }
            return Some(State::LeftDelim);
        }
        self.pos = self.len;
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos].matches('\n').count();
            return self.emit(ItemType::Text);
        }
        self.emit(ItemType::Eof)
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_left_delim(&mut self) -> Option<State> {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.from(self.pos + after).starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return Some(State::Comment);
        }
        let i = self.this_item(ItemType::LeftDelim);
        self.inside_action = true;
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.emit_item(i)
    }

    fn lex_comment(&mut self) -> Option<State> {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        self.line += self.input[self.start..self.pos].matches('\n').count();
        let _comment = self.this_item(ItemType::Comment);
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += trim_left_len(self.rest());
        }
        self.ignore();
        Some(State::Text)
    }

    fn lex_right_delim(&mut self) -> Option<State> {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += RIGHT.len();
        let i = self.this_item(ItemType::RightDelim);
        if trim {
            self.pos += trim_left_len(self.rest());
            self.ignore();
        }
        self.inside_action = false;
        self.emit_item(i)
    }

    fn lex_inside_action(&mut self) -> Option<State> {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return Some(State::RightDelim);
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(r) = self.next() else {
            return self.errorf("unclosed action".into());
        };
        match r {
            _ if is_space(r) => {
                self.backup();
                Some(State::Space)
            }
            '=' => self.emit(ItemType::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(ItemType::Declare)
            }
            '|' => self.emit(ItemType::Pipe),
            '"' => Some(State::Quote),
            '`' => Some(State::RawQuote),
            '$' => Some(State::Variable),
            '\'' => Some(State::Char),
            '.' if !self
                .rest()
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_digit)
                && self.pos < self.len =>
            {
                Some(State::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.backup();
                Some(State::Number)
            }
            _ if is_alnum(r) => {
                self.backup();
                Some(State::Identifier)
            }
            '(' => {
                self.paren_depth += 1;
                self.emit(ItemType::LeftParen)
            }
            ')' => {
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(ItemType::RightParen)
            }
            _ if r.is_ascii() && !r.is_ascii_control() => self.emit(ItemType::Char),
            _ => self.errorf(format!(
                "unrecognized character in action: {}",
                crate::quote::unicode_plus(r)
            )),
        }
    }

    fn lex_space(&mut self) -> Option<State> {
        let mut n = 0;
        while let Some(r) = self.peek() {
            if !is_space(r) {
                break;
            }
            self.next();
            n += 1;
        }
        let before = self.from(self.pos - 1);
        if has_right_trim(before) && before[TRIM_MARKER_LEN..].starts_with(RIGHT) {
            self.backup();
            if n == 1 {
                return Some(State::RightDelim);
            }
        }
        self.emit(ItemType::Space)
    }

    fn lex_identifier(&mut self) -> Option<State> {
        loop {
            match self.next() {
                Some(r) if is_alnum(r) => {}
                r => {
                    self.backup();
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        return self.bad_char(r);
                    }
                    return match keyword(word) {
                        Some(k) if k > ItemType::Keyword => {
                            if (k == ItemType::Break && !self.break_ok)
                                || (k == ItemType::Continue && !self.continue_ok)
                            {
                                return self.emit(ItemType::Identifier);
                            }
                            self.emit(k)
                        }
                        _ if word.starts_with('.') => self.emit(ItemType::Field),
                        _ if word == "true" || word == "false" => self.emit(ItemType::Bool),
                        _ => self.emit(ItemType::Identifier),
                    };
                }
            }
        }
    }

    fn bad_char(&mut self, r: Option<char>) -> Option<State> {
        let shown = match r {
            Some(r) => crate::quote::unicode_plus(r),
            None => "U+FFFFFFFFFFFFFFFF".into(),
        };
        self.errorf(format!("bad character {shown}"))
    }

    fn lex_field_or_variable(&mut self, typ: ItemType) -> Option<State> {
        if self.at_terminator() {
            if typ == ItemType::Variable {
                return self.emit(ItemType::Variable);
            }
            return self.emit(ItemType::Dot);
        }
        let mut last;
        loop {
            last = self.next();
            match last {
                Some(r) if is_alnum(r) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        if !self.at_terminator() {
            return self.bad_char(last);
        }
        self.emit(typ)
    }

    fn at_terminator(&mut self) -> bool {
        match self.peek() {
            None => true,
            Some(r) if is_space(r) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_quoted(&mut self, quote: char, unterminated: &str) -> Option<State> {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(r) if r != '\n' => {}
                    _ => return self.errorf(unterminated.into()),
                },
                None | Some('\n') => return self.errorf(unterminated.into()),
                Some(r) if r == quote => break,
                _ => {}
            }
        }
        self.emit(if quote == '"' {
            ItemType::String
        } else {
            ItemType::CharConstant
        })
    }

    fn lex_raw_quote(&mut self) -> Option<State> {
        loop {
            match self.next() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(ItemType::RawString)
    }

    fn lex_number(&mut self) -> Option<State> {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.errorf(format!(
                "bad number syntax: {}",
                quote_trunc(&text, usize::MAX)
            ));
        }
        if let Some('+' | '-') = self.peek() {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.errorf(format!(
                    "bad number syntax: {}",
                    quote_trunc(&text, usize::MAX)
                ));
            }
            return self.emit(ItemType::Complex);
        }
        self.emit(ItemType::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }
}
