//! The diff as a pull-request comment: a summary table, then one collapsible section per app.
//! A comment is limited to 65,536 characters; above that the full diff goes to a file and the
//! comment keeps the summary and says where the rest is.

use super::{count_changes, counts_phrase, fingerprints};
use crate::diff::report::{DiffReport, GroupedChange};
use crate::diff::tenants;
use crate::tenancy::Violation;
use std::collections::BTreeMap;
use std::fmt::Write;

/// GitHub's limit on the body of a comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// What to post, and the full diff when it did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub body: String,
    /// The complete Markdown, set when `body` had to leave the diffs out.
    pub overflow: Option<String>,
}

/// The comment. `overflow_file` is where the caller will write [`Comment::overflow`], named in
/// the comment; without one the comment says how to keep the full diff.
pub fn comment(report: &DiffReport, limit: usize, overflow_file: Option<&str>) -> Comment {
    let full = render(report, true);
    if full.len() <= limit {
        return Comment {
            body: full,
            overflow: None,
        };
    }
    let note = match overflow_file {
        Some(f) => format!("> **Note:** the full diff ({} characters) is larger than a comment allows; it was written to {}.\n", full.len(), code(f)),
        None => format!("> **Note:** the full diff ({} characters) is larger than a comment allows and was left out; run `ferry diff` with `--markdown-overflow FILE` to keep it.\n", full.len()),
    };
    let mut body = render(report, false);
    body.push('\n');
    body.push_str(&note);
    if body.len() > limit {
        body = header(report);
        body.push('\n');
        body.push_str(&note);
    }
    Comment {
        body,
        overflow: Some(full),
    }
}

/// The whole Markdown; `diffs` false lists changed objects without their diffs. With tenants,
/// one section per owner (the platform first), each with its apps.
pub fn render(report: &DiffReport, diffs: bool) -> String {
    let mut out = header(report);
    if report.owners.is_empty() {
        apps(&mut out, report.changes.iter(), diffs);
        return out;
    }
    owners_table(&mut out, report);
    for owner in &report.owners {
        let changes: Vec<&GroupedChange> = report
            .changes
            .iter()
            .filter(|g| tenants::owner(g.change.tenant.as_deref()) == owner)
            .collect();
        let violations: Vec<&Violation> = report
            .violations
            .iter()
            .filter(|v| v.tenant == *owner)
            .collect();
        if changes.is_empty() && violations.is_empty() {
            continue;
        }
        let title = if owner == tenants::PLATFORM {
            "platform".to_string()
        } else {
            format!("tenant {}", escape(owner))
        };
        let _ = writeln!(
            out,
            "\n#### {title}: {}",
            counts_phrase(&count_changes(changes.iter().copied()))
        );
        if !violations.is_empty() {
            let _ = writeln!(
                out,
                "\n:x: **{} build-rule violation{}** (the build refuses them):\n",
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            for v in violations {
                let _ = writeln!(
                    out,
                    "- {} {} {}: {} (rule {})",
                    code(&format!("{}/{}", v.env, v.app)),
                    code(&v.object),
                    code(&v.field),
                    escape(&v.message),
                    code(v.rule.name())
                );
            }
        }
        apps(&mut out, changes.into_iter(), diffs);
    }
    out
}

/// Per owner: what changed (one count per change, whatever the environments) and how many
/// build-rule violations it has.
fn owners_table(out: &mut String, report: &DiffReport) {
    out.push_str("\n| tenant | added | changed | removed | moved | violations |\n|---|---:|---:|---:|---:|---:|\n");
    for owner in &report.owners {
        let c = count_changes(
            report
                .changes
                .iter()
                .filter(|g| tenants::owner(g.change.tenant.as_deref()) == owner),
        );
        let v = report
            .violations
            .iter()
            .filter(|v| v.tenant == *owner)
            .count();
        let name = if owner == tenants::PLATFORM {
            "*platform*".to_string()
        } else {
            escape(owner)
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {v} |",
            c.added, c.changed, c.removed, c.moved
        );
    }
}

/// One collapsible section per app.
fn apps<'a>(out: &mut String, changes: impl Iterator<Item = &'a GroupedChange>, diffs: bool) {
    let mut by_app: BTreeMap<&str, Vec<&GroupedChange>> = BTreeMap::new();
    for g in changes {
        by_app.entry(g.change.app.as_str()).or_default().push(g);
    }
    for (app, changes) in by_app {
        let counts = count_changes(changes.iter().copied());
        let _ = write!(
            out,
            "\n<details>\n<summary><b>{}</b>: {}</summary>\n\n",
            html(app),
            counts_phrase(&counts)
        );
        for g in changes {
            object(out, g, diffs);
        }
        out.push_str("</details>\n");
    }
}

fn header(report: &DiffReport) -> String {
    let mut out = String::from("### ferry diff\n\n");
    if report.environments.is_empty() {
        out.push_str("No environments compared.\n");
        return out;
    }
    out.push_str("| environment | added | changed | removed | moved | unchanged |\n|---|---:|---:|---:|---:|---:|\n");
    for e in &report.environments {
        let c = &e.counts;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            escape(&e.name),
            c.added,
            c.changed,
            c.removed,
            c.moved,
            c.unchanged
        );
    }
    if !report.has_changes() {
        out.push_str("\nNo changes.\n");
    }
    if !report.violations.is_empty() {
        let _ = writeln!(
            out,
            "\n:x: **{} tenant build-rule violation{}**: `ferry build` refuses this revision.",
            report.violations.len(),
            if report.violations.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    out
}

fn object(out: &mut String, g: &GroupedChange, diffs: bool) {
    let c = &g.change;
    let moved = match &c.previous_app {
        Some(prev) => format!(" (from app {})", escape(prev)),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "**{} {}** {}{moved} — {}\n",
        c.change.marker(),
        c.change.as_str(),
        code(&c.object.to_string()),
        escape(&g.environments.join(", "))
    );
    if diffs && !c.diff.is_empty() {
        let fence = fence_for(&c.diff);
        let _ = write!(out, "{fence}diff\n{}{fence}\n\n", c.diff);
    }
    if let Some(keys) = &c.secret_keys {
        out.push_str("| secret key | status | fingerprint |\n|---|---|---|\n");
        for k in keys {
            let fp = fingerprints(k, "→");
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&k.key),
                k.status.as_str(),
                if fp.is_empty() {
                    String::new()
                } else {
                    code(&fp)
                }
            );
        }
        out.push('\n');
    }
}

/// A code fence longer than any run of backticks in the text, so the text cannot close it.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Inline code that survives a table cell.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|"))
}

/// Plain text in a table cell or a line.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fence_is_longer_than_any_backtick_run() {
        assert_eq!(fence_for("a ``` b"), "````");
        assert_eq!(fence_for("plain"), "```");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(code("a|b`c"), "`a\\|b'c`");
        assert_eq!(escape("a|b_c"), "a\\|b\\_c");
    }
}
