//! Semantic versions and ranges with the rules Flux's image policies use: tags are strict
//! `MAJOR.MINOR.PATCH[-PRE][+BUILD]` with an optional `v` in front, and ranges read like the
//! Go `Masterminds/semver` v3 constraints (`>=`, `<`, `~`, `^`, `x` wildcards, hyphen ranges,
//! `,` or space for AND, `||` for OR). A pre-release version satisfies an AND group only when
//! some comparator of that group names a pre-release itself (`>=1.2.0-0`), as npm, Cargo and
//! Masterminds do: a range for releases never drifts onto release candidates.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(u64),
    Alpha(String),
}

/// A parsed version. Build metadata is kept for display only: it never orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pre: Vec<Ident>,
}

impl Version {
    /// Parses a tag the way Flux does: strict semver after an optional leading `v`.
    pub fn parse_tag(tag: &str) -> Option<Version> {
        Version::parse_strict(tag.strip_prefix('v').unwrap_or(tag))
    }

    fn parse_strict(s: &str) -> Option<Version> {
        let (s, build) = match s.split_once('+') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        if let Some(b) = build {
            if b.split('.')
                .any(|i| i.is_empty() || !i.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
            {
                return None;
            }
        }
        let (core, pre) = match s.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let mut parts = core.split('.');
        let major = number(parts.next()?)?;
        let minor = number(parts.next()?)?;
        let patch = number(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            Some(p) => parse_pre(p)?,
            None => Vec::new(),
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
            pre: Vec::new(),
        }
    }
}

/// A numeric identifier: digits, no leading zero (strict semver).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

fn parse_pre(p: &str) -> Option<Vec<Ident>> {
    p.split('.')
        .map(|i| {
            if i.is_empty() || !i.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                None
            } else if i.bytes().all(|b| b.is_ascii_digit()) {
                number(i).map(Ident::Num)
            } else {
                Some(Ident::Alpha(i.to_string()))
            }
        })
        .collect()
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Ident::Num(a), Ident::Num(b)) => a.cmp(b),
            (Ident::Num(_), Ident::Alpha(_)) => Ordering::Less,
            (Ident::Alpha(_), Ident::Num(_)) => Ordering::Greater,
            (Ident::Alpha(a), Ident::Alpha(b)) => a.cmp(b),
        }
    }
}
impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// semver.org precedence: a release is above its pre-releases; identifiers compare one by
    /// one, numbers below words; a longer list wins a tie.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, p) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            match p {
                Ident::Num(n) => write!(f, "{n}")?,
                Ident::Alpha(a) => f.write_str(a)?,
            }
        }
        Ok(())
    }
}

/// One bound: `version op`, already expanded from `~`, `^`, wildcards and hyphens.
#[derive(Debug, Clone)]
enum Bound {
    Ge(Version),
    Gt(Version),
    Lt(Version),
    Le(Version),
    Eq(Version),
    /// Outside `[lo, hi)`: `!=1.2` is "not 1.2.x".
    NotIn(Version, Option<Version>),
}

impl Bound {
    fn check(&self, v: &Version) -> bool {
        match self {
            Bound::Ge(b) => v >= b,
            Bound::Gt(b) => v > b,
            Bound::Lt(b) => v < b,
            Bound::Le(b) => v <= b,
            Bound::Eq(b) => v == b,
            Bound::NotIn(lo, None) => v != lo,
            Bound::NotIn(lo, Some(hi)) => v < lo || v >= hi,
        }
    }
}

/// An AND group; `pre` says whether a comparator named a pre-release.
#[derive(Debug, Clone)]
struct Group {
    bounds: Vec<Bound>,
    pre: bool,
}

/// A parsed range, e.g. `>=1.2.0-0 <2` or `~1.2 || ^2.0`.
#[derive(Debug, Clone)]
pub struct Range {
    groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RangeError(pub String);

/// A version in a range, where parts may be missing or wildcards: `1`, `1.2`, `1.x`, `*`.
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Vec<Ident>,
}

impl Partial {
    fn parse(s: &str) -> Result<Partial, RangeError> {
        let bad = || RangeError(format!("`{s}` is not a version"));
        let t = s.strip_prefix('v').unwrap_or(s);
        let t = t.split_once('+').map_or(t, |(a, _)| a);
        let (core, pre) = match t.split_once('-') {
            Some((a, b)) => (a, parse_pre(b).ok_or_else(bad)?),
            None => (t, Vec::new()),
        };
        let mut nums = [None; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let mut wild = false;
        for (i, p) in parts.iter().enumerate() {
            if matches!(*p, "x" | "X" | "*") {
                wild = true;
                continue;
            }
            if wild {
                return Err(bad());
            }
            // Ranges are lenient about leading zeros, as Masterminds' NewVersion is.
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            nums[i] = Some(p.parse().map_err(|_| bad())?);
        }
        if !pre.is_empty() && nums[2].is_none() {
            return Err(RangeError(format!(
                "`{s}`: a pre-release needs a full MAJOR.MINOR.PATCH"
            )));
        }
        Ok(Partial {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
        })
    }

    fn floor(&self) -> Version {
        Version {
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
        }
    }

    /// The first version above every version this partial covers, `None` for `*`.
    fn ceiling(&self) -> Option<Version> {
        match (self.major, self.minor, self.patch) {
            (None, _, _) => None,
            (Some(m), None, _) => Some(Version::new(m + 1, 0, 0)),
            (Some(m), Some(n), None) => Some(Version::new(m, n + 1, 0)),
            (Some(m), Some(n), Some(p)) => Some(Version::new(m, n, p + 1)),
        }
    }

    fn is_full(&self) -> bool {
        self.patch.is_some()
    }
}

fn tilde(p: &Partial) -> Vec<Bound> {
    let lo = p.floor();
    let hi = match (p.major, p.minor) {
        (None, _) => return vec![Bound::Ge(lo)],
        (Some(m), None) => Version::new(m + 1, 0, 0),
        (Some(m), Some(n)) => Version::new(m, n + 1, 0),
    };
    vec![Bound::Ge(lo), Bound::Lt(hi)]
}

fn caret(p: &Partial) -> Vec<Bound> {
    let lo = p.floor();
    let hi = match (p.major, p.minor, p.patch) {
        (None, _, _) => return vec![Bound::Ge(lo)],
        // The first non-zero part may not grow; below it anything goes.
        (Some(m), _, _) if m > 0 => Version::new(m + 1, 0, 0),
        (Some(_), None, _) => Version::new(1, 0, 0),
        (Some(_), Some(n), _) if n > 0 => Version::new(0, n + 1, 0),
        (Some(_), Some(_), None) => Version::new(0, 1, 0),
        (Some(_), Some(_), Some(p)) => Version::new(0, 0, p + 1),
    };
    vec![Bound::Ge(lo), Bound::Lt(hi)]
}

fn comparator(op: &str, p: &Partial) -> Vec<Bound> {
    let full = p.is_full();
    match op {
        "" | "=" if full => vec![Bound::Eq(p.floor())],
        "" | "=" => match p.ceiling() {
            Some(hi) => vec![Bound::Ge(p.floor()), Bound::Lt(hi)],
            None => vec![Bound::Ge(Version::new(0, 0, 0))],
        },
        "!=" if full => vec![Bound::NotIn(p.floor(), None)],
        "!=" => match p.ceiling() {
            Some(hi) => vec![Bound::NotIn(p.floor(), Some(hi))],
            None => vec![Bound::Lt(Version::new(0, 0, 0))],
        },
        ">" if full => vec![Bound::Gt(p.floor())],
        // `>1.2` is past all of 1.2.x.
        ">" => match p.ceiling() {
            Some(hi) => vec![Bound::Ge(hi)],
            None => vec![Bound::Lt(Version::new(0, 0, 0))],
        },
        ">=" | "=>" => vec![Bound::Ge(p.floor())],
        "<" => vec![Bound::Lt(p.floor())],
        "<=" | "=<" if full => vec![Bound::Le(p.floor())],
        // `<=1.2` includes all of 1.2.x.
        "<=" | "=<" => match p.ceiling() {
            Some(hi) => vec![Bound::Lt(hi)],
            None => vec![Bound::Ge(Version::new(0, 0, 0))],
        },
        "~" | "~>" => tilde(p),
        "^" => caret(p),
        _ => unreachable!("operators are matched by split_op"),
    }
}

const OPS: &[&str] = &["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^"];

fn split_op(s: &str) -> (&'static str, &str) {
    for op in OPS {
        if let Some(rest) = s.strip_prefix(op) {
            return (op, rest.trim_start());
        }
    }
    ("", s)
}

impl Range {
    /// Parses a range.
    ///
    /// # Errors
    /// An empty range, an unknown operator or a malformed version, named in the message.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        if text.trim().is_empty() {
            return Err(RangeError("the range is empty".into()));
        }
        let mut groups = Vec::new();
        for alt in text.split("||") {
            groups.push(Self::parse_group(alt.trim(), text)?);
        }
        Ok(Range { groups })
    }

    fn parse_group(alt: &str, whole: &str) -> Result<Group, RangeError> {
        if alt.is_empty() {
            return Err(RangeError(format!(
                "`{whole}`: empty alternative around `||`"
            )));
        }
        // Tokens: operators may be followed by spaces (`>= 1.2`), so glue them back.
        let raw: Vec<&str> = alt
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .collect();
        let mut tokens: Vec<String> = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let t = raw[i];
            if OPS.contains(&t) && i + 1 < raw.len() {
                tokens.push(format!("{t}{}", raw[i + 1]));
                i += 2;
            } else {
                tokens.push(t.to_string());
                i += 1;
            }
        }
        let mut bounds = Vec::new();
        let mut pre = false;
        let mut i = 0;
        while i < tokens.len() {
            // A hyphen range: `1.2 - 1.4.5`.
            if i + 2 < tokens.len() && tokens[i + 1] == "-" {
                let lo = Partial::parse(&tokens[i])?;
                let hi = Partial::parse(&tokens[i + 2])?;
                pre |= !lo.pre.is_empty() || !hi.pre.is_empty();
                bounds.extend(comparator(">=", &lo));
                bounds.extend(comparator("<=", &hi));
                i += 3;
                continue;
            }
            let (op, rest) = split_op(&tokens[i]);
            if rest.starts_with(|c: char| "<>=!~^".contains(c)) || rest.is_empty() {
                return Err(RangeError(format!(
                    "`{}` in `{whole}`: expected an operator (=, !=, >, >=, <, <=, ~, ^) and a version",
                    tokens[i]
                )));
            }
            let p = Partial::parse(rest)?;
            pre |= !p.pre.is_empty();
            bounds.extend(comparator(op, &p));
            i += 1;
        }
        Ok(Group { bounds, pre })
    }

    /// Whether `v` is in the range.
    pub fn matches(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|g| (!v.is_prerelease() || g.pre) && g.bounds.iter().all(|b| b.check(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse_tag(s).expect(s)
    }

    #[test]
    fn strict_tags_with_optional_v() {
        assert!(Version::parse_tag("v1.2.3").is_some());
        assert!(Version::parse_tag("1.2.3-rc.1+build.5").is_some());
        for bad in [
            "1.2", "01.2.3", "1.2.3-01", "20240101", "1.2.3.4", "1.2.3-", "V1.2.3", "",
        ] {
            assert!(Version::parse_tag(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn precedence() {
        let mut list = [
            v("1.0.0"),
            v("1.0.0-rc.1"),
            v("1.0.0-beta.11"),
            v("1.0.0-beta.2"),
            v("1.0.0-beta"),
            v("1.0.0-alpha.1"),
            v("1.0.0-alpha"),
            v("1.0.0-alpha.beta"),
        ];
        list.sort();
        let s: Vec<String> = list.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            s,
            [
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
        assert_eq!(v("1.2.3+a").cmp(&v("1.2.3+b")), Ordering::Equal);
    }

    #[test]
    fn ranges() {
        let cases: &[(&str, &str, bool)] = &[
            ("~1.2", "1.2.9", true),
            ("~1.2", "1.3.0", false),
            ("~1.2.3", "1.2.2", false),
            ("^1.2", "1.9.0", true),
            ("^1.2", "2.0.0", false),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.4", false),
            ("1.2.x", "1.2.7", true),
            ("1.2", "1.2.7", true),
            ("*", "9.9.9", true),
            (">1.2", "1.2.9", false),
            (">1.2", "1.3.0", true),
            ("<=1.2", "1.2.9", true),
            (">= 1.2, < 2.0", "1.5.0", true),
            (">=1.2 <2.0", "2.0.0", false),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4", "1.4.9", true),
            ("<1 || >=3", "3.1.0", true),
            ("!=1.2.3", "1.2.3", false),
            // Pre-releases only where the range asks for them.
            (">=1.2.0", "1.2.4-rc.1", false),
            (">=1.2.0-0", "1.2.4-rc.1", true),
            (">=1.2.0-0 <2", "1.3.0-beta", true),
            ("~1.2", "1.2.4-rc.1", false),
        ];
        for (range, version, want) in cases {
            let r = Range::parse(range).expect(range);
            assert_eq!(r.matches(&v(version)), *want, "{version} in {range}");
        }
    }

    #[test]
    fn bad_ranges() {
        for bad in [
            "", ">=", ">=a.b", "1.2.3.4", "~>", "1.x.2", "=>>1", "1.2-rc.1",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?}");
        }
    }
}
