//! Finds the line of a dotted key path in block-style YAML, so that errors found after parsing
//! (semantic checks) can still point at a line.

/// 1-based line of `key` (e.g. `apps.podinfo.helm.chart` or `apps.web.helm.values[1]`), or of
/// its closest ancestor that can be found.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0usize;
    let mut min_indent: isize = -1;
    let mut found = None;
    for segment in key.split('.').filter(|s| !s.is_empty()) {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some((line, indent)) = find_key(&lines, start, min_indent, name) else {
            return found;
        };
        found = Some(line + 1);
        start = line + 1;
        min_indent = indent as isize;
        if let Some(i) = index {
            if let Some(l) = nth_item(&lines, start, min_indent, i) {
                found = Some(l + 1);
                start = l;
            }
        }
    }
    found
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

fn find_key(lines: &[&str], start: usize, parent_indent: isize, name: &str) -> Option<(usize, usize)> {
    for (i, line) in lines.iter().enumerate().skip(start) {
        if is_blank(line) {
            continue;
        }
        let indent = indent_of(line);
        if (indent as isize) <= parent_indent && !line.trim_start().starts_with("- ") {
            return None;
        }
        let t = line.trim_start().trim_start_matches("- ");
        let key = t.split(':').next().unwrap_or("").trim().trim_matches(|c| c == '"' || c == '\'');
        if key == name && t.contains(':') {
            return Some((i, indent));
        }
    }
    None
}

fn nth_item(lines: &[&str], start: usize, parent_indent: isize, n: usize) -> Option<usize> {
    let mut count = 0;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if is_blank(line) {
            continue;
        }
        if (indent_of(line) as isize) < parent_indent {
            return None;
        }
        if line.trim_start().starts_with("- ") {
            if count == n {
                return Some(i);
            }
            count += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "apiVersion: x\napps:\n  web:\n    helm:\n      chart: c\n      values:\n        - a.yaml\n        - b.yaml\n  db:\n    path: p\n";

    #[test]
    fn finds_nested_keys_and_list_items() {
        assert_eq!(line_of(TEXT, "apps.web.helm.chart"), Some(5));
        assert_eq!(line_of(TEXT, "apps.web.helm.values[1]"), Some(8));
        assert_eq!(line_of(TEXT, "apps.db.path"), Some(10));
    }

    #[test]
    fn falls_back_to_closest_ancestor() {
        assert_eq!(line_of(TEXT, "apps.db.missing"), Some(9));
        assert_eq!(line_of(TEXT, "nothing"), None);
    }
}
