//! The diff for people: a summary per environment, then every change with its unified diff and,
//! for secrets, a line per key. ANSI colour only when asked for.

use super::{counts_phrase, fingerprints};
use crate::diff::report::{ChangeKind, DiffReport, GroupedChange, KeyStatus};
use std::fmt::Write;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

struct Paint(bool);

impl Paint {
    fn on(&self, color: &str, text: &str) -> String {
        if self.0 {
            format!("{color}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Renders the report; `color` adds ANSI escapes (callers decide: terminal, `NO_COLOR`).
pub fn render(report: &DiffReport, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let width = report
        .environments
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0);
    for e in &report.environments {
        let revs = match (&e.from, &e.to) {
            (Some(a), Some(b)) if a != b => format!("  ({a} -> {b})"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {}, {} unchanged{revs}",
            p.on(BOLD, &format!("{:<width$}", e.name)),
            counts_phrase(&e.counts),
            e.counts.unchanged
        );
    }
    let owners = !report.owners.is_empty();
    for g in &report.changes {
        out.push('\n');
        change(&mut out, g, &p, owners);
    }
    if !report.violations.is_empty() {
        out.push('\n');
        for v in &report.violations {
            let _ = writeln!(out, "{} {v}", p.on(RED, "violation:"));
        }
    }
    out.push('\n');
    let n = report.changes.len();
    let _ = match n {
        0 => writeln!(out, "no changes"),
        1 => writeln!(out, "1 change"),
        _ => writeln!(out, "{n} changes"),
    };
    out
}

/// `owners`: the builds have tenants, so each change names its owner (a tenant or the platform).
fn change(out: &mut String, g: &GroupedChange, p: &Paint, owners: bool) {
    let c = &g.change;
    let color = match c.change {
        ChangeKind::Added => GREEN,
        ChangeKind::Removed => RED,
        ChangeKind::Changed => YELLOW,
        ChangeKind::Moved => CYAN,
    };
    let mut app = match &c.previous_app {
        Some(prev) => format!("app {prev} -> {}", c.app),
        None => format!("app {}", c.app),
    };
    if owners {
        match &c.tenant {
            Some(t) => app.push_str(&format!(", tenant {t}")),
            None => app.push_str(", platform"),
        }
    }
    let head = format!("{} {} {}", c.change.marker(), c.change.as_str(), c.object);
    let _ = writeln!(
        out,
        "{}  ({app}; {})",
        p.on(color, &head),
        g.environments.join(", ")
    );
    for line in c.diff.lines() {
        let painted = match line.as_bytes().first() {
            Some(b'+') => p.on(GREEN, line),
            Some(b'-') => p.on(RED, line),
            Some(b'@') => p.on(CYAN, line),
            _ => line.to_string(),
        };
        let _ = writeln!(out, "{painted}");
    }
    if let Some(keys) = &c.secret_keys {
        let width = keys.iter().map(|k| k.key.len()).max().unwrap_or(0);
        let _ = writeln!(out, "  secret keys:");
        for k in keys {
            let color = match k.status {
                KeyStatus::Added => GREEN,
                KeyStatus::Removed => RED,
                KeyStatus::Changed | KeyStatus::CannotTell => YELLOW,
                KeyStatus::Unchanged => "",
            };
            let padded = format!("{:<9}", k.status.as_str());
            let status = if color.is_empty() {
                padded
            } else {
                p.on(color, &padded)
            };
            let fp = fingerprints(k, "->");
            let line = format!("    {:<width$}  {status}  {fp}", k.key);
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::report::{Counts, EnvDiff, ObjectChange};
    use crate::manifest::ObjRef;

    fn report() -> DiffReport {
        let change = ObjectChange {
            change: ChangeKind::Changed,
            object: ObjRef {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: "n".into(),
                name: "a".into(),
            },
            api_version: "v1".into(),
            app: "web".into(),
            tenant: None,
            previous_app: None,
            diff: "@@ -1 +1 @@\n-k: v\n+k: w\n".into(),
            secret_keys: None,
        };
        DiffReport::from_envs(vec![EnvDiff {
            environment: "prod".into(),
            from: None,
            to: None,
            counts: Counts {
                changed: 1,
                ..Counts::default()
            },
            changes: vec![change],
            tenants: Default::default(),
            violations: Vec::new(),
        }])
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render(&report(), false);
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("\n-k: v\n+k: w\n"), "{plain}");
        let coloured = render(&report(), true);
        assert!(coloured.contains("\x1b[31m-k: v\x1b[0m"), "{coloured:?}");
        assert!(coloured.contains("\x1b[32m+k: w\x1b[0m"), "{coloured:?}");
    }
}
