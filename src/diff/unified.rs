//! A unified diff of two YAML texts, hunks only: the object's identity is printed beside it.

use similar::TextDiff;

/// Hunks (`@@ ... @@` headers, then ` `, `-`, `+` lines) turning `old` into `new`, with
/// `context` lines around each change. Empty when the texts are equal. Every line ends in `\n`.
pub fn unified_diff(old: &str, new: &str, context: usize) -> String {
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(context).iter_hunks() {
        out.push_str(&hunk.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified_diff("a: 1\n", "a: 1\n", 3), "");
    }

    #[test]
    fn change_is_a_hunk_with_context() {
        let old = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n";
        let new = "a: 1\nb: 2\nc: 30\nd: 4\ne: 5\n";
        assert_eq!(
            unified_diff(old, new, 1),
            "@@ -2,3 +2,3 @@\n b: 2\n-c: 3\n+c: 30\n d: 4\n"
        );
    }

    #[test]
    fn added_object_is_all_plus() {
        assert_eq!(unified_diff("", "a: 1\n", 3), "@@ -0,0 +1 @@\n+a: 1\n");
    }

    #[test]
    fn missing_final_newline_still_ends_lines() {
        let d = unified_diff("a\n", "b", 3);
        assert!(d.ends_with('\n'), "{d:?}");
    }
}
