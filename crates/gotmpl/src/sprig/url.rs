//! Sprig's `urlParse` and `urlJoin` over Go's `net/url` rules (RFC 3986 as Go reads it, not
//! the WHATWG URL standard): scheme, `//authority`, opaque forms, `?query`, `#fragment`.
//! Percent-escapes in the path and fragment are decoded on parse and re-encoded on join where
//! Go would; characters Go leaves alone in paths stay as they are.

use super::{Reg, STR};
use crate::func::Type::Map;
use crate::value::{Elem, Value};
use std::collections::BTreeMap;

/// Go's `getScheme`: `(scheme, rest)`, or Go's error text.
fn split_scheme(raw: &str) -> Result<(&str, &str), String> {
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err("missing protocol scheme".into()),
            ':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(h) = hex else {
                let bad: String = s[i..].chars().take(3).collect();
                return Err(format!("invalid URL escape {}", crate::quote::quote(&bad)));
            };
            out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `escape` for paths and fragments: unreserved and sub-delimiters stay.
fn escape(s: &str, extra_ok: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-_.~$&+,/:;=@".contains(c) || extra_ok.contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    userinfo: Option<String>,
    host: String,
    path: String,
    query: String,
    fragment: String,
}

fn parse(raw: &str) -> Result<Url, String> {
    let mut u = Url::default();
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = frag {
        u.fragment = unescape(f)?;
    }
    let err = |e: String| format!("parse {}: {e}", crate::quote::quote(raw));
    let (scheme, rest) = split_scheme(rest).map_err(err)?;
    u.scheme = scheme.to_ascii_lowercase();
    let rest = match rest.split_once('?') {
        Some((r, q)) => {
            u.query = q.to_string();
            r
        }
        None => rest,
    };
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    let mut path = rest;
    if rest.starts_with("//") && !rest.starts_with("///") {
        let auth_and_path = &rest[2..];
        let (auth, p) = match auth_and_path.find('/') {
            Some(i) => (&auth_and_path[..i], &auth_and_path[i..]),
            None => (auth_and_path, ""),
        };
        let host = match auth.rfind('@') {
            Some(i) => {
                u.userinfo = Some(unescape(&auth[..i]).map_err(err)?);
                &auth[i + 1..]
            }
            None => auth,
        };
        u.host = unescape(host).map_err(err)?;
        path = p;
    }
    u.path = unescape(path).map_err(err)?;
    Ok(u)
}

/// `Hostname()`: the host without its port and IPv6 brackets.
fn hostname(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

/// Go's `URL.String`.
fn join(u: &Url) -> String {
    let mut out = String::new();
    if !u.scheme.is_empty() {
        out.push_str(&u.scheme);
        out.push(':');
    }
    if !u.opaque.is_empty() {
        out.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.userinfo.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.userinfo.is_some() {
                out.push_str("//");
            }
            if let Some(ui) = &u.userinfo {
                out.push_str(&escape(ui, "!'()*"));
                out.push('@');
            }
            out.push_str(&u.host);
        }
        if !u.path.is_empty() && !u.path.starts_with('/') && !u.host.is_empty() {
            out.push('/');
        }
        out.push_str(&escape(&u.path, "!'()*"));
    }
    if !u.query.is_empty() {
        out.push('?');
        out.push_str(&u.query);
    }
    if !u.fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&u.fragment, "!'()*?"));
    }
    out
}

/// Sprig's `dictGetOrEmpty`: a missing key is empty; a key of another type panics.
fn field(d: &BTreeMap<String, Value>, key: &str) -> Result<String, String> {
    match d.get(key) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(v) => Err(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            v.kind_name()
        )),
    }
}

pub(crate) fn register(r: &mut Reg) {
    r.fixed("urlParse", &[STR], |a| {
        let u = parse(a[0].as_str().unwrap_or_default())
            .map_err(|e| format!("unable to parse url: {e}"))?;
        let host = hostname(&u.host).to_string();
        let m: BTreeMap<String, Value> = [
            ("scheme", u.scheme),
            ("host", u.host),
            ("hostname", host),
            ("path", u.path),
            ("query", u.query),
            ("opaque", u.opaque),
            ("fragment", u.fragment),
            ("userinfo", u.userinfo.unwrap_or_default()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::str(&v)))
        .collect();
        Ok(Value::map(m))
    });
    r.fixed("urlJoin", &[Map(Elem::Any)], |a| {
        let Value::Map(m) = &a[0] else {
            return Ok(Value::str(""));
        };
        let d = m.borrow();
        let d = &d.entries;
        let userinfo = field(d, "userinfo")?;
        let u = Url {
            scheme: field(d, "scheme")?,
            host: field(d, "host")?,
            path: field(d, "path")?,
            query: field(d, "query")?,
            opaque: field(d, "opaque")?,
            fragment: field(d, "fragment")?,
            userinfo: (!userinfo.is_empty()).then_some(userinfo),
        };
        Ok(Value::str(&join(&u)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let u = parse("https://user:pw@example.com:8443/a/b?x=1#frag").unwrap();
        assert_eq!(u.host, "example.com:8443");
        assert_eq!(hostname(&u.host), "example.com");
        assert_eq!(u.userinfo.as_deref(), Some("user:pw"));
        assert_eq!(join(&u), "https://user:pw@example.com:8443/a/b?x=1#frag");
        assert_eq!(parse("mailto:a@b").unwrap().opaque, "a@b");
        assert!(parse(":x").is_err());
    }
}
