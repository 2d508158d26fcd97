//! The parser: Go's text/template/parse recursive descent over the lexer's items, with Go's
//! three-token lookahead (error lines come from the last token read, as in Go).

use crate::ast::*;
use crate::lex::{Item, ItemType as T, Lexer};
use crate::number::new_number;
use crate::quote::unquote;
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of parenthesised pipelines, as Go's maxStackDepth; also bounds the
/// recursion of control structures so no input overflows the stack.
const MAX_DEPTH: usize = 10000;
/// Go has no limit on nested control structures; this one only bounds memory.
const MAX_NESTING: usize = 10000;
/// Below this much stack left, recursion continues on a new segment.
const RED_ZONE: usize = 128 * 1024;
const NEW_STACK: usize = 4 * 1024 * 1024;

/// Per-tree parser state (Go makes a new Tree for each `define` and `block`).
struct TreeState<'a> {
    name: String,
    token: [Item<'a>; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    stack_depth: usize,
    nesting: usize,
}

impl TreeState<'_> {
    fn new(name: &str) -> Self {
        let blank = Item {
            typ: T::Eof,
            pos: 0,
            val: std::borrow::Cow::Borrowed(""),
            line: 0,
        };
        TreeState {
            name: name.to_string(),
            token: [blank.clone(), blank.clone(), blank],
            peek_count: 0,
            vars: vec!["$".into()],
            action_line: 0,
            range_depth: 0,
            stack_depth: 0,
            nesting: 0,
        }
    }
}

pub struct Parser<'a, 'f> {
    lex: Lexer<'a>,
    st: TreeState<'a>,
    parse_name: String,
    text: Arc<str>,
    has_func: &'f dyn Fn(&str) -> bool,
    pub trees: Vec<Tree>,
    index: HashMap<String, usize>,
}

type R<X> = Result<X, String>;

/// Parses `text` as template `name`: the trees it defines (the top-level one included), or
/// the error as Go words it.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> R<Vec<Tree>> {
    let mut lex = Lexer::new(text);
    lex.break_ok = !has_func("break");
    lex.continue_ok = !has_func("continue");
    let mut p = Parser {
        lex,
        st: TreeState::new(name),
        parse_name: name.to_string(),
        text: Arc::from(text),
        has_func,
        trees: Vec::new(),
        index: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add(root)?;
    Ok(p.trees)
}

impl<'a> Parser<'a, '_> {
    fn errorf(&self, msg: impl std::fmt::Display) -> String {
        format!(
            "template: {}:{}: {}",
            self.parse_name, self.st.token[0].line, msg
        )
    }

    fn next(&mut self) -> Item<'a> {
        if self.st.peek_count > 0 {
            self.st.peek_count -= 1;
        } else {
            self.st.token[0] = self.lex.next_item();
        }
        self.st.token[self.st.peek_count].clone()
    }

    fn backup(&mut self) {
        self.st.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item<'a>) {
        self.st.token[1] = t1;
        self.st.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item<'a>, t1: Item<'a>) {
        self.st.token[1] = t1;
        self.st.token[2] = t2;
        self.st.peek_count = 3;
    }

    fn peek(&mut self) -> Item<'a> {
        if self.st.peek_count > 0 {
            return self.st.token[self.st.peek_count - 1].clone();
        }
        self.st.peek_count = 1;
        self.st.token[0] = self.lex.next_item();
        self.st.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let t = self.next();
            if t.typ != T::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn expect(&mut self, typ: T, context: &str) -> R<Item<'a>> {
        let t = self.next_non_space();
        if t.typ != typ {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn unexpected(&self, token: &Item, context: &str) -> String {
        if token.typ == T::Error {
            let mut extra = String::new();
            if self.st.action_line != 0 && self.st.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.st.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", token.describe(), extra));
        }
        self.errorf(format!("unexpected {} in {}", token.describe(), context))
    }

    fn add(&mut self, root: List) -> R<()> {
        let name = self.st.name.clone();
        match self.index.get(&name) {
            Some(&i) if !is_empty_list(&self.trees[i].root) => {
                if !is_empty_list(&root) {
                    return Err(self.errorf(format!(
                        "template: multiple definition of template {}",
                        crate::quote::quote(&name)
                    )));
                }
            }
            Some(&i) => self.trees[i] = self.tree(name, root),
            None => {
                self.index.insert(name.clone(), self.trees.len());
                let t = self.tree(name, root);
                self.trees.push(t);
            }
        }
        Ok(())
    }

    fn tree(&self, name: String, root: List) -> Tree {
        Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        }
    }

    fn parse_top(&mut self) -> R<List> {
        let mut root = List { nodes: Vec::new() };
        while self.peek().typ != T::Eof {
            if self.peek().typ == T::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == T::Define {
                    let saved = std::mem::replace(&mut self.st, TreeState::new("definition"));
                    let r = self.parse_definition();
                    self.st = saved;
                    r?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else => return Err(self.errorf("unexpected {{else}}")),
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> R<()> {
        const CONTEXT: &str = "define clause";
        let name = self.next_non_space();
        if name.typ != T::String && name.typ != T::RawString {
            return Err(self.unexpected(&name, CONTEXT));
        }
        self.st.name = unquote(&name.val).ok_or_else(|| self.errorf("invalid syntax"))?;
        self.expect(T::RightDelim, CONTEXT)?;
        let (root, end) = self.item_list()?;
        if let Parsed::Else = end {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {CONTEXT}")));
        }
        self.add(root)
    }

    fn item_list(&mut self) -> R<(List, Parsed)> {
        let mut list = List { nodes: Vec::new() };
        while self.peek_non_space().typ != T::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> R<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            T::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: token.val.into_owned(),
            })),
            T::LeftDelim => {
                self.st.action_line = token.line;
                let r = self.action();
                self.st.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> R<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            T::Block => return self.block_control().map(Parsed::Node),
            T::Break | T::Continue => return self.break_control(&token).map(Parsed::Node),
            T::Else => return self.else_control(),
            T::End => {
                return {
                    self.expect(T::RightDelim, "end")?;
                    Ok(Parsed::End)
                }
            }
            T::If | T::Range | T::With => {
                return self.branch_control(token.typ).map(Parsed::Node);
            }
            T::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", T::RightDelim)?;
        Ok(Parsed::Node(Node::Action(Action {
            pos: token.pos,
            pipe,
        })))
    }

    fn break_control(&mut self, kw: &Item) -> R<Node> {
        let word = if kw.typ == T::Break {
            "break"
        } else {
            "continue"
        };
        let t = self.next_non_space();
        if t.typ != T::RightDelim {
            return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
        }
        if self.st.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if kw.typ == T::Break {
            Node::Break { pos: kw.pos }
        } else {
            Node::Continue { pos: kw.pos }
        })
    }

    fn pipeline(&mut self, context: &str, end: T) -> R<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != T::Variable {
                break;
            }
            self.next();
            let after = self.peek();
            let next = self.peek_non_space();
            if next.typ == T::Assign || next.typ == T::Declare {
                pipe.is_assign = next.typ == T::Assign;
                self.next_non_space();
                pipe.decl.push(Variable {
                    pos: v.pos,
                    ident: v.val.split('.').map(String::from).collect(),
                });
                self.st.vars.push(v.val.into_owned());
            } else if next.typ == T::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(Variable {
                    pos: v.pos,
                    ident: v.val.split('.').map(String::from).collect(),
                });
                self.st.vars.push(v.val.into_owned());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        T::Variable | T::RightDelim | T::RightParen => continue 'decls,
                        _ => return Err(self.errorf("range can only initialize variables")),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            } else if after.typ == T::Space {
                self.backup3(v, after);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                T::Bool
                | T::CharConstant
                | T::Complex
                | T::Dot
                | T::Field
                | T::Identifier
                | T::Number
                | T::Nil
                | T::RawString
                | T::String
                | T::Variable
                | T::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> R<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool { .. }
                | Arg::Dot { .. }
                | Arg::Nil { .. }
                | Arg::Number { .. }
                | Arg::String { .. },
            ) = c.args.first()
            {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn branch_control(&mut self, typ: T) -> R<Node> {
        if self.st.nesting >= MAX_NESTING {
            return Err(self.errorf("max nesting depth exceeded"));
        }
        self.st.nesting += 1;
        let r = stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.branch_control_inner(typ));
        self.st.nesting -= 1;
        r
    }

    fn branch_control_inner(&mut self, typ: T) -> R<Node> {
        let context = match typ {
            T::If => "if",
            T::Range => "range",
            _ => "with",
        };
        let mark = self.st.vars.len();
        let r = self.parse_control(context);
        self.st.vars.truncate(mark);
        let (pipe, list, else_list) = r?;
        let b = Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        };
        Ok(match typ {
            T::If => Node::If(b),
            T::Range => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn parse_control(&mut self, context: &str) -> R<(Pipe, List, Option<List>)> {
        let pipe = self.pipeline(context, T::RightDelim)?;
        if context == "range" {
            self.st.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.st.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        if let Parsed::Else = next {
            let peek = self.peek().typ;
            if context == "if" && peek == T::If {
                self.next();
                let n = self.branch_control(T::If)?;
                else_list = Some(List { nodes: vec![n] });
            } else if context == "with" && peek == T::With {
                self.next();
                let n = self.branch_control(T::With)?;
                else_list = Some(List { nodes: vec![n] });
            } else {
                let (l, next) = self.item_list()?;
                if let Parsed::Else = next {
                    return Err(self.errorf("expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        Ok((pipe, list, else_list))
    }

    fn else_control(&mut self) -> R<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == T::If || peek.typ == T::With {
            return Ok(Parsed::Else);
        }
        self.expect(T::RightDelim, "else")?;
        Ok(Parsed::Else)
    }

    fn block_control(&mut self) -> R<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, T::RightDelim)?;
        let saved = std::mem::replace(&mut self.st, TreeState::new(&name));
        let r = self.item_list();
        let inner = std::mem::replace(&mut self.st, saved);
        let (root, end) = r?;
        if let Parsed::Else = end {
            return Err(self.errorf(format!("unexpected {{{{else}}}} in {CONTEXT}")));
        }
        let saved = std::mem::replace(&mut self.st, inner);
        let r = self.add(root);
        self.st = saved;
        r?;
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> R<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != T::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, T::RightDelim)?);
        }
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe,
        }))
    }

    fn template_name(&mut self, token: &Item, context: &str) -> R<String> {
        match token.typ {
            T::String | T::RawString => {
                unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax"))
            }
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn command(&mut self) -> R<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                T::Space => continue,
                T::RightDelim | T::RightParen => self.backup(),
                T::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != T::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == T::Field {
            let f = self.next().val;
            fields.push(f[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable(mut v) => {
                v.ident.extend(fields);
                v.pos = pos;
                Arg::Variable(v)
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    crate::quote::quote(&node.to_string())
                )));
            }
            node => Arg::Chain {
                pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> R<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.typ {
            T::Identifier => {
                if !(self.has_func)(&token.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::quote::quote(&token.val)
                    )));
                }
                Arg::Identifier {
                    pos,
                    name: token.val.into_owned(),
                }
            }
            T::Dot => Arg::Dot { pos },
            T::Nil => Arg::Nil { pos },
            T::Variable => {
                let ident: Vec<String> = token.val.split('.').map(String::from).collect();
                if !self.st.vars.iter().any(|v| *v == ident[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::quote::quote(&ident[0])
                    )));
                }
                Arg::Variable(Variable { pos, ident })
            }
            T::Field => Arg::Field {
                pos,
                ident: token.val[1..].split('.').map(String::from).collect(),
            },
            T::Bool => Arg::Bool {
                pos,
                val: token.val == "true",
            },
            T::CharConstant | T::Complex | T::Number => {
                let num = new_number(
                    &token.val,
                    token.typ == T::CharConstant,
                    token.typ == T::Complex,
                )
                .map_err(|e| self.errorf(e))?;
                Arg::Number {
                    pos,
                    num: Box::new(num),
                }
            }
            T::LeftParen => {
                if self.st.stack_depth >= MAX_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.st.stack_depth += 1;
                let r = stacker::maybe_grow(RED_ZONE, NEW_STACK, || {
                    self.pipeline("parenthesized pipeline", T::RightParen)
                });
                self.st.stack_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            T::String | T::RawString => {
                let text = unquote(&token.val).ok_or_else(|| self.errorf("invalid syntax"))?;
                Arg::String {
                    pos,
                    quoted: token.val.into_owned(),
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// What an action parses to: a node, or the `{{end}}`/`{{else}}` closing a list.
enum Parsed {
    Node(Node),
    End,
    Else,
}
