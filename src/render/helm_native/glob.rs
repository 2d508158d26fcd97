//! Path patterns as Helm matches them: Go's `path/filepath.Match` (for `.helmignore`) and
//! gobwas/glob with `/` as separator (for `.Files.Glob`, where `**` crosses directories and
//! `{a,b}` chooses).

/// Go's `filepath.Match`: `*` any run of non-`/`, `?` one non-`/` character, `[...]` a class
/// (`^` negates, `a-z` ranges, `\` escapes). `None` for a malformed pattern.
pub fn go_match(pattern: &str, name: &str) -> Option<bool> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n, false)
}

fn match_from(p: &[char], n: &[char], crosses: bool) -> Option<bool> {
    let Some(&c) = p.first() else {
        return Some(n.is_empty());
    };
    match c {
        '*' => {
            let double = crosses && p.get(1) == Some(&'*');
            let rest = if double { &p[2..] } else { &p[1..] };
            for i in 0..=n.len() {
                if match_from(rest, &n[i..], crosses)? {
                    return Some(true);
                }
                if i < n.len() && n[i] == '/' && !double {
                    break;
                }
            }
            // Go validates the rest of the pattern even when nothing matched.
            Some(false)
        }
        '?' => match n.first() {
            Some(&ch) if ch != '/' => match_from(&p[1..], &n[1..], crosses),
            _ => Some(false),
        },
        '[' => {
            let (matched, len) = class(&p[1..], n.first().copied())?;
            if matched {
                match_from(&p[1 + len..], &n[1..], crosses)
            } else {
                Some(false)
            }
        }
        '{' if crosses => {
            let close = p.iter().position(|&c| c == '}')?;
            let rest = &p[close + 1..];
            for alt in p[1..close].split(|&c| c == ',') {
                let mut q = alt.to_vec();
                q.extend_from_slice(rest);
                if match_from(&q, n, crosses)? {
                    return Some(true);
                }
            }
            Some(false)
        }
        '\\' if !crosses || p.len() > 1 => {
            let e = *p.get(1)?;
            match n.first() {
                Some(&ch) if ch == e => match_from(&p[2..], &n[1..], crosses),
                _ => Some(false),
            }
        }
        c => match n.first() {
            Some(&ch) if ch == c => match_from(&p[1..], &n[1..], crosses),
            _ => Some(false),
        },
    }
}

/// A character class after `[`: whether `ch` is in it and how many pattern characters it
/// spans (through the closing `]`).
fn class(p: &[char], ch: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(p.first(), Some('^') | Some('!'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = if c == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            c
        };
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&c| c != ']') {
            hi = if p[i + 1] == '\\' {
                i += 1;
                *p.get(i + 1)?
            } else {
                p[i + 1]
            };
            i += 2;
        }
        if let Some(ch) = ch {
            if lo <= ch && ch <= hi {
                matched = true;
            }
        }
    }
    let Some(ch) = ch else {
        return Some((false, i));
    };
    Some((matched != negate && ch != '/', i))
}

/// gobwas/glob with `/` as separator, as `.Files.Glob` compiles its pattern.
pub fn files_glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n, true).unwrap_or(false)
}

/// One `.helmignore` rule.
struct Rule {
    pattern: String,
    negate: bool,
    must_dir: bool,
    /// `/x`: anchored at the chart root; `a/b`: matched against the whole path; else the base
    /// name.
    kind: RuleKind,
}

enum RuleKind {
    Anchored,
    Path,
    Base,
}

/// The rules of a chart's `.helmignore` plus Helm's default (`templates/.?*`).
pub struct Ignore {
    rules: Vec<Rule>,
}

impl Ignore {
    /// Parses `.helmignore` text; an error names the rule Helm would refuse.
    pub fn parse(text: &str) -> Result<Ignore, String> {
        let mut ig = Ignore { rules: Vec::new() };
        for line in text.trim_start_matches('\u{feff}').lines() {
            ig.add(line)?;
        }
        Ok(ig)
    }

    pub fn with_defaults(mut self) -> Ignore {
        // A fixed, valid rule.
        let _ = self.add("templates/.?*");
        self
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(format!(
                "rule {rule:?}: double-star (**) syntax is not supported"
            ));
        }
        if go_match(rule, "abc").is_none() {
            return Err(format!("rule {rule:?}: syntax error in pattern"));
        }
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (kind, pattern) = if let Some(r) = rule.strip_prefix('/') {
            (RuleKind::Anchored, r)
        } else if rule.contains('/') {
            (RuleKind::Path, rule)
        } else {
            (RuleKind::Base, rule)
        };
        self.rules.push(Rule {
            pattern: pattern.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether the chart-relative path `path` is ignored (Helm's `Rules.Ignore`, including its
    /// reading of negated rules).
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for r in &self.rules {
            let subject = match r.kind {
                RuleKind::Anchored | RuleKind::Path => path,
                RuleKind::Base => path.rsplit('/').next().unwrap_or(path),
            };
            let m = go_match(&r.pattern, subject).unwrap_or(false);
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !m {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if m {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        assert_eq!(go_match("*.txt", "a.txt"), Some(true));
        assert_eq!(go_match("*.txt", "d/a.txt"), Some(false));
        assert_eq!(go_match("templates/.?*", "templates/.x"), Some(true));
        assert_eq!(go_match("a[b-d]c", "acc"), Some(true));
        assert_eq!(go_match("a[^b]c", "abc"), Some(false));
        assert_eq!(go_match("a[", "abc"), None);
    }

    #[test]
    fn gobwas_glob() {
        assert!(files_glob("files/**.json", "files/a/b.json"));
        assert!(!files_glob("files/*.json", "files/a/b.json"));
        assert!(files_glob("*.{yaml,json}", "x.json"));
    }

    #[test]
    fn helmignore_rules() {
        let ig = Ignore::parse("# c\n.git/\n*.tmp\n/examples\nci/*.yaml\n")
            .unwrap()
            .with_defaults();
        assert!(ig.ignored(".git", true));
        assert!(!ig.ignored(".git", false));
        assert!(ig.ignored("a/b.tmp", false));
        assert!(ig.ignored("examples", true));
        assert!(ig.ignored("ci/x.yaml", false));
        assert!(ig.ignored("templates/.hidden", false));
        assert!(!ig.ignored("templates/x.yaml", false));
        assert!(Ignore::parse("a/**/b").is_err());
    }
}
