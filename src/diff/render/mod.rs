//! Turning a [`DiffReport`](super::DiffReport) into text for people, JSON for machines, or
//! Markdown for a pull-request comment. Renderers only see redacted data: the report holds no
//! secret value to leak.

pub mod json;
pub mod markdown;
pub mod text;

use super::report::{Counts, GroupedChange, KeyChange};

/// `1 added, 2 changed` — only the non-zero differences; `no changes` when there are none.
pub(crate) fn counts_phrase(c: &Counts) -> String {
    let parts: Vec<String> = [
        (c.added, "added"),
        (c.changed, "changed"),
        (c.removed, "removed"),
        (c.moved, "moved"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "no changes".to_string()
    } else {
        parts.join(", ")
    }
}

/// Counts of a set of grouped changes (one per change, whatever the environments).
pub(crate) fn count_changes<'a>(changes: impl IntoIterator<Item = &'a GroupedChange>) -> Counts {
    let mut c = Counts::default();
    for g in changes {
        c.count(g.change.change);
    }
    c
}

/// `hmac:1 -> hmac:2`, `hmac:2`, or nothing.
pub(crate) fn fingerprints(k: &KeyChange, arrow: &str) -> String {
    match (&k.old_fingerprint, &k.new_fingerprint) {
        (Some(a), Some(b)) => format!("{a} {arrow} {b}"),
        (None, Some(b)) => b.clone(),
        (Some(a), None) => a.clone(),
        (None, None) => String::new(),
    }
}
