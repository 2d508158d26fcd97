//! Flux's variable substitution (`postBuild.substitute`): the bash-like `${...}` language of
//! `fluxcd/pkg/envsubst`, as kustomize-controller runs it over each object's YAML text.
//!
//! Only the braced form substitutes (`$var` stays as it is); `$$` in text is one literal `$`,
//! so `$${var}` writes `${var}`. Inside braces: a plain name, the default operators (`=` and
//! `:=` `:-` `:?` `:+`, which all give the arguments when the value is empty), case changes (`,` `,,` `^` `^^`), length (`${#var}`), substrings (`${var:1:2}`), prefix
//! and suffix removal (`#` `##` `%` `%%`, with `*` and `?` globs) and replacement (`/` `//`
//! `/#` `/%`). Arguments may hold further `${...}`. In strict mode a variable that is not set
//! is an error, unless a default operator gives it a value.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvsubstError {
    /// The words are fluxcd/pkg/envsubst's, so a message searched for on the web finds Flux's.
    #[error("{0}")]
    Parse(&'static str),
    #[error("variable not set (strict mode): \"{0}\"")]
    NotSet(String),
}

const BAD_SUBSTITUTION: &str = "bad substitution";
const MISSING_BRACE: &str = "missing closing brace";
const VARIABLE_NAME: &str = "unable to parse variable name";
const FUNC_SUBSTITUTION: &str = "unable to parse substitution within function";

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Func {
        param: String,
        name: String,
        args: Vec<Vec<Node>>,
    },
}

struct Parser<'a> {
    s: &'a [char],
    pos: usize,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn at_lbrack(&self) -> bool {
        self.peek() == Some('$') && self.s.get(self.pos + 1) == Some(&'{')
    }

    /// Top-level text and `${...}` until the end.
    fn any(&mut self) -> Result<Vec<Node>, EnvsubstError> {
        let mut out = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if self.at_lbrack() {
                if !text.is_empty() {
                    out.push(Node::Text(std::mem::take(&mut text)));
                }
                self.pos += 2;
                out.push(self.func()?);
            } else if c == '$' && self.s.get(self.pos + 1) == Some(&'$') {
                // `$$` is one literal `$`, and what follows is text even if it is `{`.
                text.push('$');
                self.pos += 2;
            } else {
                text.push(c);
                self.pos += 1;
            }
        }
        if !text.is_empty() {
            out.push(Node::Text(text));
        }
        Ok(out)
    }

    /// Consumes characters while `accept(c, i)` holds (`i` counts from 1); stops before `${`
    /// when `lbrack` is set. With `escape`, `\/`, `\\` and `$$` stand for their second char.
    fn run(&mut self, accept: &dyn Fn(char, usize) -> bool, lbrack: bool, escape: bool) -> String {
        let mut out = String::new();
        let mut i = 0;
        while let Some(c) = self.peek() {
            if lbrack && self.at_lbrack() {
                break;
            }
            let next = self.s.get(self.pos + 1).copied();
            let escaped = escape
                && ((c == '$' && next == Some('$'))
                    || (c == '\\' && matches!(next, Some('/') | Some('\\'))));
            if escaped {
                out.push(next.unwrap_or(c));
                self.pos += 2;
                i += 2;
                continue;
            }
            if !accept(c, i + 1) {
                break;
            }
            out.push(c);
            self.pos += 1;
            i += 1;
        }
        out
    }

    fn expect_rbrack(&mut self, err: &'static str) -> Result<(), EnvsubstError> {
        if self.peek() == Some('}') {
            self.pos += 1;
            Ok(())
        } else {
            Err(EnvsubstError::Parse(err))
        }
    }

    /// One argument: a nested `${...}` or text the predicate accepts.
    fn param(
        &mut self,
        accept: &dyn Fn(char, usize) -> bool,
        escape: bool,
    ) -> Result<Vec<Node>, EnvsubstError> {
        if self.at_lbrack() {
            self.pos += 2;
            return Ok(vec![self.func()?]);
        }
        let t = self.run(accept, true, escape);
        if t.is_empty() {
            return Err(EnvsubstError::Parse(FUNC_SUBSTITUTION));
        }
        Ok(vec![Node::Text(t)])
    }

    /// After `${`.
    fn func(&mut self) -> Result<Node, EnvsubstError> {
        if self.peek() == Some('#') {
            self.pos += 1;
            let param = self.run(&|c, _| is_ident(c), false, false);
            if param.is_empty() {
                return Err(EnvsubstError::Parse(BAD_SUBSTITUTION));
            }
            self.expect_rbrack(BAD_SUBSTITUTION)?;
            return Ok(Node::Func {
                param,
                name: "#".into(),
                args: Vec::new(),
            });
        }
        let param = self.run(&|c, _| is_ident(c), false, false);
        if param.is_empty() {
            return Err(EnvsubstError::Parse(VARIABLE_NAME));
        }
        let func = |name: String, args| Node::Func {
            param: param.clone(),
            name,
            args,
        };
        match self.peek() {
            Some(':') => {
                let next = self.s.get(self.pos + 1).copied();
                if matches!(next, Some('=' | '-' | '?' | '+')) {
                    self.pos += 2;
                    let name = format!(":{}", next.unwrap_or_default());
                    let args = self.default_args()?;
                    Ok(func(name, args))
                } else {
                    self.pos += 1;
                    let mut args = vec![self.param(&|c, _| c != ':' && c != '}', false)?];
                    match self.peek() {
                        Some('}') => {
                            self.pos += 1;
                            return Ok(func(":".into(), args));
                        }
                        Some(':') => {
                            self.run(&|c, _| c == ':', false, false);
                        }
                        _ => return Err(EnvsubstError::Parse(BAD_SUBSTITUTION)),
                    }
                    args.push(self.param(&|c, _| c != '}', false)?);
                    self.expect_rbrack(BAD_SUBSTITUTION)?;
                    Ok(func(":".into(), args))
                }
            }
            Some('=') => {
                self.pos += 1;
                let args = self.default_args()?;
                Ok(func("=".into(), args))
            }
            Some(',' | '^') => {
                let name = self.run(&|c, i| (c == ',' || c == '^') && i < 3, false, false);
                self.expect_rbrack(BAD_SUBSTITUTION)?;
                Ok(func(name, Vec::new()))
            }
            Some('/') => {
                let name = self.run(
                    &|c, i| (i == 1 && c == '/') || (i == 2 && matches!(c, '/' | '#' | '%')),
                    false,
                    false,
                );
                let mut args = vec![self.param(&|c, _| c != '/', true)?];
                if self.peek() != Some('/') {
                    return Err(EnvsubstError::Parse(BAD_SUBSTITUTION));
                }
                self.run(&|c, _| c == '/', false, false);
                if self.peek() == Some('}') {
                    self.pos += 1;
                    return Ok(func(name, args));
                }
                args.push(self.param(&|c, _| c != '}', true)?);
                self.expect_rbrack(BAD_SUBSTITUTION)?;
                Ok(func(name, args))
            }
            Some(op @ ('#' | '%')) => {
                let name = self.run(&|c, i| c == op && i < 3, false, false);
                let args = vec![self.param(&|c, _| c != '}', false)?];
                self.expect_rbrack(BAD_SUBSTITUTION)?;
                Ok(func(name, args))
            }
            _ => {
                self.expect_rbrack(MISSING_BRACE)?;
                Ok(func(String::new(), Vec::new()))
            }
        }
    }

    /// The arguments of a default operator, up to its `}`.
    fn default_args(&mut self) -> Result<Vec<Vec<Node>>, EnvsubstError> {
        let mut args = Vec::new();
        loop {
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(args);
                }
                _ => args.push(self.param(&|c, _| c != '}', false)?),
            }
        }
    }
}

fn is_default_op(name: &str) -> bool {
    matches!(name, "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?")
}

/// Substitutes `vars` into `text`. With `strict`, a variable not in `vars` is an error unless
/// a default operator supplies a value; without, it is the empty string.
pub fn substitute(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, EnvsubstError> {
    let chars: Vec<char> = text.chars().collect();
    let nodes = Parser { s: &chars, pos: 0 }.any()?;
    let mut out = String::new();
    eval(&nodes, vars, strict, &mut out)?;
    Ok(out)
}

fn eval(
    nodes: &[Node],
    vars: &BTreeMap<String, String>,
    strict: bool,
    out: &mut String,
) -> Result<(), EnvsubstError> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Func { param, name, args } => {
                let mut values = Vec::new();
                for a in args {
                    let mut s = String::new();
                    eval(a, vars, strict, &mut s)?;
                    values.push(s);
                }
                let v = match vars.get(param) {
                    Some(v) => v.clone(),
                    None if strict && !is_default_op(name) => {
                        return Err(EnvsubstError::NotSet(param.clone()))
                    }
                    None => String::new(),
                };
                out.push_str(&apply(name, v, &values));
            }
        }
    }
    Ok(())
}

fn apply(name: &str, s: String, args: &[String]) -> String {
    match name {
        "," => first_char(&s, |c| c.to_lowercase().collect()),
        ",," => s.to_lowercase(),
        "^" => first_char(&s, |c| c.to_uppercase().collect()),
        "^^" => s.to_uppercase(),
        "#" if args.is_empty() => s.len().to_string(),
        "#" => trim_prefix(&s, &args[0], false),
        "##" => trim_prefix(&s, &args[0], true),
        "%" => trim_suffix(&s, &args[0], false),
        "%%" => trim_suffix(&s, &args[0], true),
        ":" => substr(&s, args),
        "/#" => match args {
            [from, to] if s.starts_with(from.as_str()) => s.replacen(from.as_str(), to, 1),
            _ => s,
        },
        "/%" => match args {
            [from, to] if s.ends_with(from.as_str()) => {
                format!("{}{to}", &s[..s.len() - from.len()])
            }
            _ => s,
        },
        "/" => match args {
            [from] => s.replacen(from.as_str(), "", 1),
            [from, to, ..] => s.replacen(from.as_str(), to, 1),
            [] => s,
        },
        "//" => match args {
            [from] => s.replace(from.as_str(), ""),
            [from, to, ..] => s.replace(from.as_str(), to),
            [] => s,
        },
        // Plain `${var}` and every default operator: the value, or the arguments when empty.
        _ if s.is_empty() && !args.is_empty() => args.concat(),
        _ => s,
    }
}

fn first_char(s: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

/// `${var:pos}` and `${var:pos:len}`, on bytes as Go slices strings; a bad number leaves the
/// value as it is.
fn substr(s: &str, args: &[String]) -> String {
    let Some(Ok(pos)) = args.first().map(|a| a.trim().parse::<i64>()) else {
        return s.to_string();
    };
    let n = s.len() as i64;
    let pos = if pos < 0 { (n + pos).max(0) } else { pos };
    let slice = |a: i64, b: i64| {
        s.get(a as usize..b as usize)
            .map(str::to_string)
            .unwrap_or_default()
    };
    match args.get(1) {
        None => {
            if pos < n {
                slice(pos, n)
            } else {
                String::new()
            }
        }
        Some(len) => match len.trim().parse::<i64>() {
            Err(_) => s.to_string(),
            Ok(len) if pos + len >= n => {
                if pos < n {
                    slice(pos, n)
                } else {
                    String::new()
                }
            }
            Ok(len) => slice(pos, pos + len),
        },
    }
}

/// A shell glob (`*`, `?`, `\x`) matched against the whole of `s`, as Go's `path.Match` does
/// for patterns without `/` or classes. `None` for a pattern this does not support.
fn glob(pattern: &[char], s: &[char]) -> Option<bool> {
    match pattern.split_first() {
        None => Some(s.is_empty()),
        Some(('[', _)) => None,
        Some(('*', rest)) => {
            for i in 0..=s.len() {
                if s[..i].contains(&'/') {
                    break;
                }
                if glob(rest, &s[i..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Some(('?', rest)) => match s.split_first() {
            Some((c, tail)) if *c != '/' => glob(rest, tail),
            _ => Some(false),
        },
        Some(('\\', rest)) => match (rest.split_first(), s.split_first()) {
            (Some((p, prest)), Some((c, tail))) if p == c => glob(prest, tail),
            (None, _) => None,
            _ => Some(false),
        },
        Some((p, rest)) => match s.split_first() {
            Some((c, tail)) if c == p => glob(rest, tail),
            _ => Some(false),
        },
    }
}

/// Removes the shortest (or longest) prefix of `s` matching `pattern`.
fn trim_prefix(s: &str, pattern: &str, longest: bool) -> String {
    let chars: Vec<char> = s.chars().collect();
    let pat: Vec<char> = pattern.chars().collect();
    let mut found = None;
    // Go tries prefixes from the longest down; the shortest is the last that matches.
    for end in (1..=chars.len()).rev() {
        match glob(&pat, &chars[..end]) {
            None => return s.to_string(),
            Some(true) => {
                found = Some(end);
                if longest {
                    break;
                }
            }
            Some(false) => {}
        }
    }
    match found {
        Some(end) => chars[end..].iter().collect(),
        None => s.to_string(),
    }
}

fn trim_suffix(s: &str, pattern: &str, longest: bool) -> String {
    let rev = |t: &str| t.chars().rev().collect::<String>();
    rev(&trim_prefix(&rev(s), &rev(pattern), longest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [
            ("name", "Podinfo"),
            ("empty", ""),
            ("path", "a/b.tar.gz"),
            ("file", "b.tar.gz"),
            ("ver", "v1.2.3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn sub(t: &str) -> String {
        substitute(t, &vars(), false).unwrap()
    }

    #[test]
    fn forms_and_escapes() {
        assert_eq!(sub("x: ${name}"), "x: Podinfo");
        assert_eq!(sub("$name ${unset}|"), "$name |");
        assert_eq!(sub("$${name} $$x $$$"), "${name} $x $$");
        assert_eq!(sub("$$${name}"), "$Podinfo");
        assert_eq!(
            sub("${unset:=def} ${empty:-d2} ${name:=x} ${unset=a${name}b}"),
            "def d2 Podinfo aPodinfob"
        );
        assert_eq!(
            sub("${name,} ${name,,} ${name^^} ${#name}"),
            "podinfo podinfo PODINFO 7"
        );
        assert_eq!(
            sub("${ver:1} ${ver:1:3} ${ver:-2} ${ver:9}"),
            "1.2.3 1.2 v1.2.3 "
        );
        assert_eq!(
            sub("${file#*.} ${file##*.} ${path%.*} ${path%%.*}"),
            "tar.gz gz a/b.tar a/b"
        );
        // As Go's path.Match, `*` stops at `/`.
        assert_eq!(sub("${path#*.}"), "a/b.tar.gz");
        assert_eq!(
            sub("${ver/./-} ${ver//./-} ${ver/#v/V} ${ver/%3/4} ${ver//./}"),
            "v1-2.3 v1-2-3 V1.2.3 v1.2.4 v123"
        );
    }

    #[test]
    fn strict_mode_and_errors() {
        let v = vars();
        assert_eq!(
            substitute("a: ${nope}", &v, true),
            Err(EnvsubstError::NotSet("nope".into()))
        );
        assert_eq!(substitute("a: ${nope:=x}", &v, true).unwrap(), "a: x");
        assert_eq!(substitute("a: ${empty}", &v, true).unwrap(), "a: ");
        for (t, e) in [
            ("${name", MISSING_BRACE),
            ("${}", VARIABLE_NAME),
            ("${-x}", VARIABLE_NAME),
            ("${name-x}", MISSING_BRACE),
            ("${name/a}", BAD_SUBSTITUTION),
            // The pattern runs to the next `/`, closing brace included, as in Flux.
            ("${name//.}", BAD_SUBSTITUTION),
            ("${name:=", FUNC_SUBSTITUTION),
        ] {
            assert_eq!(
                substitute(t, &v, false),
                Err(EnvsubstError::Parse(e)),
                "{t}"
            );
        }
    }
}
