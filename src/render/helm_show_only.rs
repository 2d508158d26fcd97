//! `helm template --show-only`: the printed stream cut down to the documents of the named
//! templates, as helm 4.1.4 does it after rendering (so it works the same for the native
//! renderer as for the binary): documents split on `---`, trimmed, each kept when its
//! `# Source:` path below the chart's name matches a pattern (Go's `filepath.Match`), in the
//! order of the patterns, each printed as `---\n<document>\n`.

/// Cuts `text` down; a pattern that matches nothing is helm's error.
pub fn show_only(text: &str, patterns: &[String]) -> Result<String, String> {
    let docs = split_manifests(text);
    let mut out = String::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(path) = source_path(doc) else {
                continue;
            };
            if !go_match(pattern, path) {
                continue;
            }
            out.push_str("---\n");
            out.push_str(doc);
            out.push('\n');
            missing = false;
        }
        if missing {
            return Err(format!("could not find template {pattern} in chart"));
        }
    }
    Ok(out)
}

/// helm's `SplitManifests`: split on `(?:^|\s*\n)---\s*`, trimmed, empty ones dropped.
fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim_matches(go_space);
    let mut docs = Vec::new();
    let mut rest = text;
    // The separator at the very start.
    if let Some(r) = rest.strip_prefix("---") {
        rest = r.trim_start_matches(go_space);
    }
    loop {
        match find_separator(rest) {
            Some((start, end)) => {
                docs.push(rest[..start].to_string());
                rest = &rest[end..];
            }
            None => {
                docs.push(rest.to_string());
                break;
            }
        }
    }
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(go_space).to_string())
        .collect()
}

fn go_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// The first `\s*\n---\s*` in `s`: where the blanks before the newline start and where the
/// blanks after the dashes end.
fn find_separator(s: &str) -> Option<(usize, usize)> {
    let nl = s.find("\n---")?;
    let start = s[..nl].trim_end_matches(go_space).len();
    let after = nl + 4;
    let end = after + (s[after..].len() - s[after..].trim_start_matches(go_space).len());
    Some((start, end))
}

/// `# Source: [^/]+/(.+)`: the first such line's path below the chart name.
fn source_path(doc: &str) -> Option<&str> {
    let at = doc.find("# Source: ")?;
    let rest = &doc[at + "# Source: ".len()..];
    let line = rest.split('\n').next().unwrap_or("");
    let slash = line.find('/')?;
    if slash == 0 {
        return None;
    }
    let path = &line[slash + 1..];
    (!path.is_empty()).then_some(path)
}

/// Go's `filepath.Match` on `/`-separated names; a malformed pattern matches nothing.
pub fn go_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n).unwrap_or(false)
}

fn matches(p: &[char], n: &[char]) -> Option<bool> {
    match p.first() {
        None => Some(n.is_empty()),
        Some('*') => {
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if matches(&p[1..], &n[i..])? {
                    return Some(true);
                }
            }
            Some(false)
        }
        Some('?') => match n.first() {
            Some(&c) if c != '/' => matches(&p[1..], &n[1..]),
            _ => Some(false),
        },
        Some('[') => {
            let (ok, used) = class(&p[1..], *n.first().unwrap_or(&'/'))?;
            if n.is_empty() || n[0] == '/' {
                return Some(false);
            }
            if ok {
                matches(&p[1 + used..], &n[1..])
            } else {
                Some(false)
            }
        }
        Some('\\') => {
            let c = *p.get(1)?;
            match n.first() {
                Some(&x) if x == c => matches(&p[2..], &n[1..]),
                _ => Some(false),
            }
        }
        Some(&c) => match n.first() {
            Some(&x) if x == c => matches(&p[1..], &n[1..]),
            _ => Some(false),
        },
    }
}

/// A `[...]` class after its `[`: whether `c` is in it and how many pattern characters it
/// used (with the `]`); `None` for a malformed class.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = p.first() == Some(&'^');
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = escaped(p, &mut i)?;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1) != Some(&']') {
            i += 1;
            escaped(p, &mut i)?
        } else {
            lo
        };
        if lo <= c && c <= hi {
            found = true;
        }
    }
    Some((found != negate, i))
}

fn escaped(p: &[char], i: &mut usize) -> Option<char> {
    let c = *p.get(*i)?;
    if c == '-' || c == ']' && *i > 0 {
        return None;
    }
    if c == '\\' {
        *i += 2;
        return p.get(*i - 1).copied();
    }
    *i += 1;
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_rules() {
        assert!(go_match("templates/*.yaml", "templates/a.yaml"));
        assert!(!go_match("templates/*.yaml", "templates/sub/a.yaml"));
        assert!(go_match("templates/?.yaml", "templates/a.yaml"));
        assert!(go_match("templates/[ab].yaml", "templates/b.yaml"));
        assert!(!go_match("templates/[^ab].yaml", "templates/b.yaml"));
        assert!(go_match(
            "charts/sub/templates/x.yaml",
            "charts/sub/templates/x.yaml"
        ));
    }

    #[test]
    fn keeps_the_named_templates_in_pattern_order() {
        let text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n";
        assert_eq!(
            show_only(text, &["templates/b.yaml".into(), "templates/a.yaml".into()]),
            Ok("---\n# Source: c/templates/b.yaml\nkind: B\n---\n# Source: c/templates/a.yaml\nkind: A\n".into())
        );
        assert_eq!(
            show_only(text, &["templates/z.yaml".into()]),
            Err("could not find template templates/z.yaml in chart".into())
        );
    }
}
