//! The executor: Go's text/template/exec.go walk over a tree. It keeps Go's "current node"
//! bookkeeping (`s.at(node)`) in the same places, because an execution error quotes that node
//! and its position.

use crate::ast::*;
use crate::func::{Context, Func, Type};
use crate::gofmt::format_v;
use crate::quote::quote;
use crate::value::{Elem, Value};
use crate::{Error, MissingKey, Templates};

/// Nested template calls deeper than this fail, as in Go.
pub const MAX_EXEC_DEPTH: usize = 100_000;
/// Below this much stack left, recursion continues on a new segment.
const RED_ZONE: usize = 128 * 1024;
const NEW_STACK: usize = 4 * 1024 * 1024;

/// A value as Go's reflection holds it: `iface` when it was read out of an `interface {}`
/// slot (a map or slice element) and not yet unwrapped by the end of a pipeline command.
#[derive(Clone)]
struct Rv {
    v: Value,
    iface: bool,
}

impl Rv {
    fn plain(v: Value) -> Rv {
        Rv { v, iface: false }
    }

    fn type_name(&self) -> String {
        if self.iface || matches!(self.v, Value::Nil) {
            "interface {}".into()
        } else {
            self.v.type_name()
        }
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<X> = Result<X, Error>;

pub(crate) struct State<'t> {
    set: &'t Templates,
    tree: &'t Tree,
    node: Option<NodeRef<'t>>,
    vars: Vec<(&'t str, Rv)>,
    depth: usize,
    out: String,
    steps: Steps,
}

/// Steps taken by one top-level execution, shared with the executions it calls.
#[derive(Clone, Default)]
pub(crate) struct Steps(std::rc::Rc<std::cell::Cell<u64>>);

/// "current node" argument that does not exist for pipelines without a first command.
fn elem_iface(e: Elem) -> bool {
    e == Elem::Any
}

pub(crate) fn execute(
    set: &Templates,
    tree: &Tree,
    data: Value,
    depth: usize,
    steps: &Steps,
) -> R<String> {
    let mut s = State {
        set,
        tree,
        node: None,
        vars: vec![("$", Rv::plain(data.clone()))],
        depth,
        out: String::new(),
        steps: steps.clone(),
    };
    let dot = Rv::plain(data);
    s.walk_list(&dot, &tree.root)?;
    Ok(s.out)
}

impl<'t> State<'t> {
    fn at(&mut self, n: NodeRef<'t>) {
        self.node = Some(n);
    }

    /// Counts one step against `Limits::max_steps`.
    fn step(&mut self) -> R<()> {
        let n = self.steps.0.get() + 1;
        self.steps.0.set(n);
        match self.set.limits.max_steps {
            Some(max) if n > max => Err(self.errorf(format!(
                "execution took more than {max} steps (ferry's limit; Limits::max_steps)"
            ))),
            _ => Ok(()),
        }
    }

    /// Writes to the output within `Limits::max_output`.
    fn write(&mut self, text: &str) -> R<()> {
        let max = self.set.limits.max_output;
        if self.out.len() + text.len() > max {
            return Err(self.errorf(format!(
                "output would exceed {max} bytes (ferry's limit; Limits::max_output)"
            )));
        }
        self.out.push_str(text);
        Ok(())
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> Error {
        let name = &self.tree.name;
        match self.node {
            None => Error::Exec(format!("template: {name}: {msg}")),
            Some(n) => Error::Exec(format!(
                "template: {}: executing {} at <{}>: {}",
                self.tree.location(n.pos()),
                quote(name),
                n,
                msg
            )),
        }
    }

    fn walk_list(&mut self, dot: &Rv, list: &'t List) -> R<Flow> {
        for n in &list.nodes {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Rv, node: &'t Node) -> R<Flow> {
        self.at(NodeRef::Node(node));
        self.step()?;
        match node {
            Node::Action(a) => {
                let v = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.at(NodeRef::Node(node));
                    match &v.v {
                        Value::Invalid => self.write("<no value>")?,
                        Value::String(s) => self.write(s)?,
                        other => {
                            let text = format_v(other);
                            crate::limits::check_string(text.len())
                                .map_err(|e| self.errorf(format!("printing the value: {e}")))?;
                            self.write(&text)?
                        }
                    }
                }
                Ok(Flow::Normal)
            }
            Node::Break { .. } => Ok(Flow::Break),
            Node::Continue { .. } => Ok(Flow::Continue),
            Node::If(b) => {
                stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.walk_if_with(false, dot, b))
            }
            Node::With(b) => {
                stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.walk_if_with(true, dot, b))
            }
            Node::Range(b) => {
                stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.walk_range(dot, node, b))
            }
            Node::Template(t) => {
                stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.walk_template(dot, node, t))?;
                Ok(Flow::Normal)
            }
            Node::Text { text, .. } => {
                self.write(text)?;
                Ok(Flow::Normal)
            }
        }
    }

    fn walk_if_with(&mut self, with: bool, dot: &Rv, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if val.v.truth() {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Rv, node: &'t Node, r: &'t Branch) -> R<Flow> {
        self.at(NodeRef::Node(node));
        let mark0 = self.vars.len();
        let res = self.walk_range_inner(dot, r);
        self.vars.truncate(mark0);
        res.map(|_| Flow::Normal)
    }

    fn range_iteration(&mut self, r: &'t Branch, mark: usize, index: Rv, elem: Rv) -> R<Flow> {
        self.step()?;
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0].ident[0], v)?;
            } else {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1].ident[0], elem.clone())?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].1 = index;
            }
        }
        let res = self.walk_list(&elem, &r.list);
        self.vars.truncate(mark);
        res
    }

    fn walk_range_inner(&mut self, dot: &Rv, r: &'t Branch) -> R<()> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        match &val.v {
            Value::Int(_) | Value::Int64(_) | Value::Uint8(_) => {
                let n = &val.v.as_int().unwrap_or(0);
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        format_v(&val.v)
                    )));
                }
                let kind = val.v.clone();
                for i in 0..(*n).max(0) {
                    ran = true;
                    let e = match kind {
                        Value::Int64(_) => Value::Int64(i),
                        Value::Uint8(_) => Value::Uint8(i as u8),
                        _ => Value::Int(i),
                    };
                    match self.range_iteration(r, mark, Rv::plain(Value::Invalid), Rv::plain(e))? {
                        Flow::Break => return Ok(()),
                        _ => continue,
                    }
                }
            }
            Value::List(e, items) => {
                let iface = elem_iface(*e);
                for (i, it) in items.iter().enumerate() {
                    ran = true;
                    let elem = Rv {
                        v: it.clone(),
                        iface,
                    };
                    match self.range_iteration(r, mark, Rv::plain(Value::Int(i as i64)), elem)? {
                        Flow::Break => return Ok(()),
                        _ => continue,
                    }
                }
            }
            Value::Map(m) => {
                // A snapshot: the body may change the map (Go's sorted key list is one too).
                let (elem_t, entries): (Elem, Vec<(String, Value)>) = {
                    let m = m.borrow();
                    (
                        m.elem,
                        m.entries
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    )
                };
                for (k, v) in entries {
                    ran = true;
                    let elem = Rv {
                        v,
                        iface: elem_iface(elem_t),
                    };
                    match self.range_iteration(r, mark, Rv::plain(Value::str(&k)), elem)? {
                        Flow::Break => return Ok(()),
                        _ => continue,
                    }
                }
            }
            Value::Object(o) if o.range_entries().is_some() => {
                for (k, v) in o.range_entries().unwrap_or_default() {
                    ran = true;
                    let elem = Rv::plain(v);
                    match self.range_iteration(r, mark, Rv::plain(Value::str(&k)), elem)? {
                        Flow::Break => return Ok(()),
                        _ => continue,
                    }
                }
            }
            Value::Invalid | Value::Nil => {}
            v => {
                return Err(self.errorf(format!("range can't iterate over {}", format_v(v))));
            }
        }
        if ran {
            return Ok(());
        }
        if let Some(e) = &r.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(&mut self, dot: &Rv, node: &'t Node, t: &'t TemplateCall) -> R<()> {
        self.at(NodeRef::Node(node));
        let set: &'t Templates = self.set;
        let Some(tree) = set.get(&t.name) else {
            return Err(self.errorf(format!("template {} not defined", quote(&t.name))));
        };
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.errorf(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::plain(Value::Invalid),
        };
        let mut inner = State {
            set: self.set,
            tree,
            node: self.node,
            vars: vec![("$", dot.clone())],
            depth: self.depth + 1,
            out: std::mem::take(&mut self.out),
            steps: self.steps.clone(),
        };
        let r = inner.walk_list(&dot, &tree.root);
        self.out = std::mem::take(&mut inner.out);
        r.map(|_| ())
    }

    fn set_var(&mut self, name: &str, v: Rv) -> R<()> {
        for slot in self.vars.iter_mut().rev() {
            if slot.0 == name {
                slot.1 = v;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<Rv> {
        for slot in self.vars.iter().rev() {
            if slot.0 == name {
                return Ok(slot.1.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &Rv, pipe: &'t Pipe) -> R<Rv> {
        self.at(NodeRef::Pipe(pipe));
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // The end of each command unwraps an interface: a nil one is no value.
            value = Some(match v.v {
                Value::Nil => Rv::plain(Value::Invalid),
                other => Rv::plain(other),
            });
        }
        let value = value.unwrap_or(Rv::plain(Value::Invalid));
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.ident[0], value.clone())?;
            } else {
                self.vars.push((&var.ident[0], value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Rv>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'t Command, fin: Option<Rv>) -> R<Rv> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at(NodeRef::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, ident, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                self.at(NodeRef::Arg(first));
                return self.eval_function(dot, name, NodeRef::Command(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.eval_pipeline(dot, p));
            }
            Arg::Variable(v) => return self.eval_variable(dot, first, v, &cmd.args, fin),
            _ => {}
        }
        self.at(NodeRef::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        Ok(match first {
            Arg::Bool { val, .. } => Rv::plain(Value::Bool(*val)),
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => return Err(self.errorf("nil is not a command")),
            Arg::Number { num, .. } => Rv::plain(self.ideal_constant(first, num)?),
            Arg::String { text, .. } => Rv::plain(Value::str(text)),
            _ => {
                return Err(self.errorf(format!(
                    "can't evaluate command {}",
                    quote(&first.to_string())
                )))
            }
        })
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> R<Value> {
        self.at(NodeRef::Arg(node));
        let t = &n.text;
        let hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let rune = t.starts_with('\'');
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float && !hex_int && !rune && t.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return Err(self.errorf(format!("{t} overflows int")));
        }
        Ok(Value::Invalid)
    }

    fn eval_chain(&mut self, dot: &Rv, node: &'t Arg, args: &'t [Arg], fin: Option<Rv>) -> R<Rv> {
        self.at(NodeRef::Arg(node));
        let Arg::Chain {
            node: inner,
            fields,
            ..
        } = node
        else {
            return Err(self.errorf("internal error: not a chain"));
        };
        if let Arg::Nil { .. } = inner.as_ref() {
            return Err(self.errorf(format!("indirection through explicit nil in {node}")));
        }
        let recv = self.eval_arg(dot, None, inner)?;
        self.eval_field_chain(dot, recv, node, fields, args, fin)
    }

    fn eval_variable(
        &mut self,
        dot: &Rv,
        node: &'t Arg,
        v: &'t Variable,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        self.at(NodeRef::Arg(node));
        let value = self.var_value(&v.ident[0])?;
        if v.ident.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &v.ident[1..], args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Rv,
        mut recv: Rv,
        node: &'t Arg,
        ident: &'t [String],
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            recv = self.eval_field(dot, name, node, &[], None, recv)?;
        }
        self.eval_field(dot, &ident[n - 1], node, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        fin: Option<Rv>,
        recv: Rv,
    ) -> R<Rv> {
        let typ = recv.type_name();
        match &recv.v {
            Value::Invalid => {
                if self.set.missing_key == MissingKey::Error {
                    return Err(self.errorf(format!("nil data; no entry for key {}", quote(name))));
                }
                return Ok(Rv::plain(Value::Invalid));
            }
            Value::Nil => {
                return Err(self.errorf(format!("nil pointer evaluating {typ}.{name}")));
            }
            Value::Object(o) => {
                if let Some(m) = o.method(name) {
                    return self.eval_call(dot, &m, false, NodeRef::Arg(node), name, args, fin);
                }
                if let Some(v) = o.field(name) {
                    if args.len() > 1 || fin.is_some() {
                        return Err(self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(Rv::plain(v));
                }
            }
            Value::Map(m) => {
                if args.len() > 1 || fin.is_some() {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                let m = m.borrow();
                let iface = elem_iface(m.elem);
                return match m.entries.get(name) {
                    Some(v) => Ok(Rv {
                        v: v.clone(),
                        iface,
                    }),
                    None => match self.set.missing_key {
                        MissingKey::Invalid => Ok(Rv::plain(Value::Invalid)),
                        MissingKey::Zero => Ok(Rv {
                            v: m.elem.zero(),
                            iface,
                        }),
                        MissingKey::Error => {
                            Err(self.errorf(format!("map has no entry for key {}", quote(name))))
                        }
                    },
                };
            }
            _ => {}
        }
        Err(self.errorf(format!("can't evaluate field {name} in type {typ}")))
    }

    fn eval_function(
        &mut self,
        dot: &Rv,
        name: &str,
        node: NodeRef<'t>,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let set = self.set;
        let (f, builtin) = match set.funcs.get(name) {
            Some(f) => (f, false),
            None => match set.builtins.get(name) {
                Some(f) => (f, true),
                None => {
                    return Err(self.errorf(format!("{} is not a defined function", quote(name))))
                }
            },
        };
        self.eval_call(dot, f, builtin, node, name, args, fin)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Rv,
        f: &Func,
        builtin: bool,
        node: NodeRef<'t>,
        name: &str,
        args: &'t [Arg],
        fin: Option<Rv>,
    ) -> R<Rv> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let sig = &f.sig;
        let num_in = args.len() + usize::from(fin.is_some());
        let num_fixed = if sig.variadic.is_some() {
            let nf = sig.params.len();
            if num_in < nf {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {nf} got {}",
                    args.len()
                )));
            }
            nf
        } else {
            if num_in != sig.params.len() {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    sig.params.len()
                )));
            }
            args.len()
        };

        if builtin && (name == "and" || name == "or") {
            let or = name == "or";
            let mut v = Value::Invalid;
            for a in args {
                v = self.eval_arg(dot, Some(Type::Reflect), a)?.v;
                if v.truth() == or {
                    return Ok(Rv::plain(v));
                }
            }
            if let Some(fin) = fin {
                v = self.validate_type(fin, Some(Type::Reflect))?.v;
            }
            return Ok(Rv::plain(v));
        }

        let mut argv = Vec::with_capacity(num_in);
        let mut ifaces = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let a = self.eval_arg(dot, Some(sig.params[i]), &args[i])?;
            ifaces.push(a.iface);
            argv.push(a.v);
            i += 1;
        }
        if let Some(t) = sig.variadic {
            while i < args.len() {
                let a = self.eval_arg(dot, Some(t), &args[i])?;
                ifaces.push(a.iface);
                argv.push(a.v);
                i += 1;
            }
        }
        if let Some(fin) = fin {
            let t = match sig.variadic {
                Some(elem) if num_in > num_fixed => elem,
                Some(_) => sig.params[num_in - 1],
                None => sig.params[sig.params.len() - 1],
            };
            argv.push(self.validate_type(fin, Some(t))?.v);
        }

        if builtin && name == "call" {
            let callee = match args.first() {
                Some(a) => a.to_string(),
                None => format_v(&argv[0]),
            };
            let msg = match &argv[0] {
                Value::Invalid | Value::Nil => "call of nil".to_string(),
                v => format!("non-function {callee} of type {}", v.type_name()),
            };
            self.at(node);
            return Err(self.errorf(format!("error calling call: {msg}")));
        }

        if builtin && name == "slice" {
            return match crate::builtins::slice(&argv, &ifaces) {
                Ok(v) => Ok(Rv::plain(v)),
                Err(e) => {
                    self.at(node);
                    Err(self.errorf(format!("error calling {name}: {e}")))
                }
            };
        }

        let mut ctx = CallCtx {
            set: self.set,
            depth: self.depth,
            steps: self.steps.clone(),
        };
        let res = (f.imp)(&mut ctx, argv).and_then(|v| {
            crate::limits::check_value(&v)?;
            Ok(v)
        });
        match res {
            Ok(v) => Ok(Rv::plain(v)),
            Err(e) => {
                self.at(node);
                Err(self.errorf(format!("error calling {name}: {e}")))
            }
        }
    }

    fn validate_type(&self, v: Rv, typ: Option<Type>) -> R<Rv> {
        let Some(typ) = typ else {
            return Ok(v);
        };
        match &v.v {
            Value::Invalid => {
                if typ.can_be_nil() {
                    return Ok(Rv::plain(match typ {
                        Type::Reflect => Value::Invalid,
                        t => t.zero(),
                    }));
                }
                Err(self.errorf(format!("invalid value; expected {}", typ.go_name())))
            }
            Value::Nil => {
                if matches!(typ, Type::Any | Type::Reflect) {
                    return Ok(v);
                }
                Err(self.errorf(format!(
                    "wrong type for value; expected {}; got interface {{}}",
                    typ.go_name()
                )))
            }
            val => {
                if typ.accepts(val) {
                    return Ok(v);
                }
                Err(self.errorf(format!(
                    "wrong type for value; expected {}; got {}",
                    typ.go_name(),
                    val.type_name()
                )))
            }
        }
    }

    fn eval_arg(&mut self, dot: &Rv, typ: Option<Type>, n: &'t Arg) -> R<Rv> {
        self.at(NodeRef::Arg(n));
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), typ),
            Arg::Nil { .. } => {
                let t = typ.unwrap_or(Type::Any);
                if t.can_be_nil() {
                    return Ok(Rv::plain(match t {
                        Type::Any => Value::Nil,
                        Type::Reflect => Value::Invalid,
                        t => t.zero(),
                    }));
                }
                return Err(self.errorf(format!("cannot assign nil to {}", t.go_name())));
            }
            Arg::Field { ident, .. } => {
                self.at(NodeRef::Arg(n));
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    ident,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(var) => {
                let v = self.eval_variable(dot, n, var, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = stacker::maybe_grow(RED_ZONE, NEW_STACK, || self.eval_pipeline(dot, p))?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier { name, .. } => {
                self.at(NodeRef::Arg(n));
                let v = self.eval_function(dot, name, NodeRef::Arg(n), &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        let Some(typ) = typ else {
            // Go passes a nil type only for chain receivers, which are never literals.
            return Err(self.errorf(format!("can't handle {n} for arg of type <nil>")));
        };
        match typ {
            Type::Bool => match n {
                Arg::Bool { val, .. } => Ok(Rv::plain(Value::Bool(*val))),
                _ => Err(self.errorf(format!("expected bool; found {n}"))),
            },
            Type::Int | Type::Int64 => match n {
                Arg::Number { num, .. } if num.is_int => Ok(Rv::plain(if typ == Type::Int {
                    Value::Int(num.int)
                } else {
                    Value::Int64(num.int)
                })),
                _ => Err(self.errorf(format!("expected integer; found {n}"))),
            },
            Type::Float64 => match n {
                Arg::Number { num, .. } if num.is_float => Ok(Rv::plain(Value::Float(num.float))),
                _ => Err(self.errorf(format!("expected float; found {n}"))),
            },
            Type::String => match n {
                Arg::String { text, .. } => Ok(Rv::plain(Value::str(text))),
                _ => Err(self.errorf(format!("expected string; found {n}"))),
            },
            Type::Any | Type::Reflect => match n {
                Arg::Bool { val, .. } => Ok(Rv::plain(Value::Bool(*val))),
                Arg::Number { num, .. } => Ok(Rv::plain(self.ideal_constant(n, num)?)),
                Arg::String { text, .. } => Ok(Rv::plain(Value::str(text))),
                _ => Err(self.errorf(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
            t => Err(self.errorf(format!("can't handle {n} for arg of type {}", t.go_name()))),
        }
    }
}

/// The context a function call sees.
struct CallCtx<'a> {
    set: &'a Templates,
    depth: usize,
    steps: Steps,
}

impl Context for CallCtx<'_> {
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        if self.depth + 1 >= MAX_EXEC_DEPTH {
            return Err(Error::Exec(format!(
                "template: {name}: exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let Some(tree) = self.set.get(name) else {
            return Err(Error::Exec(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(name)
            )));
        };
        // A function that runs a template (Helm's `include`) recurses through the host: grow
        // the stack here as the executor does for its own nesting.
        stacker::maybe_grow(RED_ZONE, NEW_STACK, || {
            execute(self.set, tree, data, self.depth + 1, &self.steps)
        })
    }

    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error> {
        if self.depth + 1 >= MAX_EXEC_DEPTH {
            return Err(Error::Exec(format!(
                "template: {name}: exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        let mut set = self.set.clone();
        set.parse(name, text)?;
        let tree = set
            .get(name)
            .ok_or_else(|| Error::Exec(format!("template: {name}: no template")))?;
        stacker::maybe_grow(RED_ZONE, NEW_STACK, || {
            execute(&set, tree, data, self.depth + 1, &self.steps)
        })
    }

    fn depth(&self) -> usize {
        self.depth
    }
}
