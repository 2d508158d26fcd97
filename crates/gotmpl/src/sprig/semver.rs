//! Masterminds/semver v3 (the version helm v4.1.4 links: lowercase error texts) as Sprig uses it: `semver` (a version object with methods) and
//! `semverCompare` (constraints: `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, x-ranges, `a - b`
//! ranges, `,` and `||`).

use super::Reg;
use super::STR;
use crate::func::{Func, Signature, Type};
use crate::value::{Object, Value};
use regex::Regex;
use std::cmp::Ordering;
use std::rc::Rc;
use std::sync::OnceLock;

const VERSION_TYPE: &str = "*semver.Version";

#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const SEMVER: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Res {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| {
        let re = |s: String| Regex::new(&s).unwrap_or_else(|_| Regex::new("$^").expect("trivial"));
        Res {
            version: re(format!("^{SEMVER}$")),
            constraint: re(format!(r"^\s*({OPS})\s*({CV})\s*$")),
            range: re(format!(r"\s*({CV})\s+-\s+({CV})\s*")),
            find: re(format!(r"({OPS})\s*({CV})")),
            valid: re(format!(
                r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
            )),
        }
    })
}

fn only(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(allowed)
}

fn is_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

impl Version {
    pub fn parse(v: &str) -> Result<Version, String> {
        let Some(m) = res().version.captures(v) else {
            return Err("invalid semantic version".into());
        };
        let seg = |i: usize| -> Result<u64, String> {
            match m.get(i) {
                None => Ok(0),
                Some(x) => x
                    .as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|_| {
                        format!(
                            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                            crate::quote::quote(x.as_str().trim_start_matches('.'))
                        )
                    }),
            }
        };
        let pre = m.get(5).map(|x| x.as_str()).unwrap_or("").to_string();
        let metadata = m.get(8).map(|x| x.as_str()).unwrap_or("").to_string();
        let v = Version {
            major: seg(1)?,
            minor: seg(2)?,
            patch: seg(3)?,
            pre,
            metadata,
            original: v.to_string(),
        };
        for p in v.pre.split('.').filter(|_| !v.pre.is_empty()) {
            if p.is_empty() {
                return Err("invalid prerelease string".into());
            } else if only(p, |b| b.is_ascii_digit()) {
                if p.len() > 1 && p.starts_with('0') {
                    return Err("version segment starts with 0".into());
                }
            } else if !only(p, is_allowed) {
                return Err("invalid prerelease string".into());
            }
        }
        if !v.metadata.is_empty()
            && !v
                .metadata
                .split('.')
                .all(|p| !p.is_empty() && only(p, is_allowed))
        {
            return Err("invalid metadata string".into());
        }
        Ok(v)
    }

    fn string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let (s, t): (Vec<&str>, Vec<&str>) = (v.split('.').collect(), o.split('.').collect());
    for i in 0..s.len().max(t.len()) {
        let d = compare_pre_part(
            s.get(i).copied().unwrap_or(""),
            t.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    let num = |x: &str| -> Option<u64> {
        if x.is_empty() || !only(x, |b| b.is_ascii_digit()) {
            None
        } else {
            x.parse().ok()
        }
    };
    match (num(s), num(o)) {
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(a), Some(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    let Some(m) = res().constraint.captures(c) else {
        return Err(format!("improper constraint: {c}"));
    };
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn rewrite_range(i: &str) -> String {
    let mut o = i.to_string();
    for m in res().range.captures_iter(i) {
        let whole = m.get(0).map(|x| x.as_str()).unwrap_or("");
        let a = m.get(1).map(|x| x.as_str()).unwrap_or("");
        let b = m.get(11).map(|x| x.as_str()).unwrap_or("");
        o = o.replacen(whole, &format!(">= {a}, <= {b} "), 1);
    }
    o
}

/// Parses a constraint string into OR groups of AND constraints.
fn constraints(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let c = rewrite_range(c);
    let mut or = Vec::new();
    for v in c.split("||") {
        if !res().valid.is_match(v) {
            return Err(format!("improper constraint: {v}"));
        }
        let found: Vec<&str> = res().find.find_iter(v).map(|m| m.as_str()).collect();
        let found = if found.is_empty() { vec![v] } else { found };
        let mut and = Vec::new();
        for s in found {
            and.push(parse_constraint(s)?);
        }
        or.push(and);
    }
    Ok(or)
}

/// One constraint; `include_pre` when a constraint of its AND group names a prerelease
/// (semver v3.4: then prereleases may match every constraint of the group).
fn check(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    use Ordering::*;
    let pre_blocked = !v.pre.is_empty() && !include_pre;
    let tilde = |v: &Version, c: &Constraint| -> bool {
        if pre_blocked || v.compare(&c.con) == Less {
            return false;
        }
        if c.con.major == 0
            && c.con.minor == 0
            && c.con.patch == 0
            && !c.minor_dirty
            && !c.patch_dirty
        {
            return true;
        }
        if v.major != c.con.major {
            return false;
        }
        v.minor == c.con.minor || c.minor_dirty
    };
    match c.op.as_str() {
        "" | "=" => {
            if pre_blocked {
                return false;
            }
            if c.dirty {
                return tilde(v, c);
            }
            v.compare(&c.con) == Equal
        }
        "!=" => {
            if pre_blocked {
                return false;
            }
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &c.con.pre) != Equal;
                    }
                    return false;
                }
            }
            v.compare(&c.con) != Equal
        }
        ">" => {
            if pre_blocked {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) == Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                v.compare(&c.con) == Greater
            }
        }
        "<" => !pre_blocked && v.compare(&c.con) == Less,
        ">=" | "=>" => !pre_blocked && v.compare(&c.con) != Less,
        "<=" | "=<" => {
            if pre_blocked {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) != Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if pre_blocked || v.compare(&c.con) == Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

/// Sprig's semverCompare.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let cs = constraints(constraint)?;
    let v = Version::parse(version)?;
    Ok(cs.iter().any(|and| {
        let include_pre = and.iter().any(|c| !c.con.pre.is_empty());
        and.iter().all(|c| check(&v, c, include_pre))
    }))
}

impl Object for Version {
    fn type_name(&self) -> &str {
        VERSION_TYPE
    }

    fn display(&self) -> String {
        self.string()
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn method(&self, name: &str) -> Option<Func> {
        let me = self.clone();
        let int = |n: u64| Func::pure(Signature::fixed(&[]), move |_| Ok(Value::Int64(n as i64)));
        let text = |s: String| Func::pure(Signature::fixed(&[]), move |_| Ok(Value::str(&s)));
        Some(match name {
            "Major" => int(self.major),
            "Minor" => int(self.minor),
            "Patch" => int(self.patch),
            "Prerelease" => text(self.pre.clone()),
            "Metadata" => text(self.metadata.clone()),
            "Original" => text(self.original.clone()),
            "String" => text(self.string()),
            "Compare" | "LessThan" | "GreaterThan" | "Equal" | "LessThanEqual"
            | "GreaterThanEqual" => {
                let name = name.to_string();
                Func::pure(Signature::fixed(&[Type::Object(VERSION_TYPE)]), move |a| {
                    let Some(o) = as_version(&a[0]) else {
                        return Err(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .into(),
                        );
                    };
                    let ord = me.compare(o);
                    Ok(match name.as_str() {
                        "Compare" => Value::Int(ord as i64),
                        "LessThan" => Value::Bool(ord == Ordering::Less),
                        "GreaterThan" => Value::Bool(ord == Ordering::Greater),
                        "LessThanEqual" => Value::Bool(ord != Ordering::Greater),
                        "GreaterThanEqual" => Value::Bool(ord != Ordering::Less),
                        _ => Value::Bool(ord == Ordering::Equal),
                    })
                })
            }
            _ => return None,
        })
    }
}

fn as_version(v: &Value) -> Option<&Version> {
    match v {
        Value::Object(o) => o.as_any().and_then(|a| a.downcast_ref::<Version>()),
        _ => None,
    }
}

pub(crate) fn register(r: &mut Reg) {
    r.fixed("semverCompare", &[STR, STR], |a| {
        semver_compare(a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or("")).map(Value::Bool)
    });
    r.fixed("semver", &[STR], |a| {
        Version::parse(a[0].as_str().unwrap_or("")).map(|v| Value::Object(Rc::new(v)))
    });
}
