//! Comparing the native kustomize renderer with the binary on the same root: the first line
//! where their outputs differ, for `--compare` and the benchmark.

/// Where two renders of one root first differ (1-based line; `None` past the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstDifference {
    pub line: usize,
    pub binary: Option<String>,
    pub native: Option<String>,
}

impl std::fmt::Display for FirstDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |l: &Option<String>| match l {
            Some(l) => format!("{l:?}"),
            None => "(end of output)".to_string(),
        };
        write!(
            f,
            "line {}:\n  binary: {}\n  native: {}",
            self.line,
            show(&self.binary),
            show(&self.native)
        )
    }
}

/// The first differing line, or `None` when the bytes are equal. Lines keep their newline, so
/// a missing final newline counts as a difference.
pub fn first_difference(binary: &str, native: &str) -> Option<FirstDifference> {
    if binary == native {
        return None;
    }
    let mut b = binary.split_inclusive('\n');
    let mut n = native.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (b.next(), n.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                return Some(FirstDifference {
                    line,
                    binary: x.map(str::to_string),
                    native: y.map(str::to_string),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_differing_line() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        let d = first_difference("a\nb\nc\n", "a\nx\nc\n").expect("differs");
        assert_eq!(
            (d.line, d.binary.as_deref(), d.native.as_deref()),
            (2, Some("b\n"), Some("x\n"))
        );
        let d = first_difference("a\n", "a\nb\n").expect("longer");
        assert_eq!(
            (d.line, d.binary, d.native.as_deref()),
            (2, None, Some("b\n"))
        );
        let d = first_difference("a\n", "a").expect("newline");
        assert_eq!(d.line, 1);
    }
}
