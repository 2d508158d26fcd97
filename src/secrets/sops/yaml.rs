//! YAML in and out the way sops' YAML store does it: documents are mappings, comments are kept
//! as tree entries (so they can be encrypted), and output follows go-yaml v3 with a 4-space
//! indent, so `ferry secrets decrypt` prints what `sops -d` prints.

mod emit;
mod parse;
pub mod scalar;

pub use emit::emit;
pub use parse::parse;

#[cfg(test)]
mod tests {
    use super::*;

    fn round(text: &str) -> String {
        emit(&parse(text).expect("parses"))
    }

    #[test]
    fn canonical_text_round_trips() {
        let text = "# top\nname: hello\n\"n\": 42\nf: 3.5\nb: true\nempty: \"\"\nnul: null\ns: \"true\"\nq: 'it''s: x'\nmulti: |\n    line1\n    line2\nnested:\n    k: v\n    # before list\n    list:\n        - 1\n        - two\n        - x: \"y\"\n          z: w\n        - - a\n          - b\n    after: 1\n# trailing\n---\ndoc2: \"yes\"\n";
        assert_eq!(round(text), text);
    }

    #[test]
    fn block_scalars_keep_their_hints() {
        let text = "ml: |+\n    a\n    b\n\nml2: |4-\n     a\n    b\nlst:\n    - |\n      x\n      y\n    - a:\n        b: 1\n        # in nested\n      c: 2\n    # list comment\n    - last\n";
        assert_eq!(round(text), text);
    }

    #[test]
    fn flow_and_two_space_input_is_normalised() {
        let out = round("a: {b: [1, 2], c: {}}\nl:\n- x\n- y: 1\n  z: 2\nk: 1_000\n");
        assert_eq!(out, "a:\n    b:\n        - 1\n        - 2\n    c: {}\nl:\n    - x\n    - \"y\": 1\n      z: 2\nk: 1000\n");
    }

    #[test]
    fn inline_comments_become_comment_lines() {
        let docs = parse("a: 1 # one\nb:\n  - x # ex\n").expect("parses");
        assert_eq!(emit(&docs), "# one\na: 1\nb:\n    # ex\n    - x\n");
    }

    #[test]
    fn non_mapping_document_is_refused() {
        assert!(parse("- a\n- b\n").is_err());
        assert!(parse("a: [unclosed\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_line() {
        let e = parse("a: 1\nb:\n  c: 1\n  c: 2\n")
            .expect_err("refused")
            .to_string();
        // sops' own words (go-yaml v3), with both lines.
        assert!(
            e.contains("line 4") && e.contains("mapping key \"c\" already defined at line 3"),
            "{e}"
        );
    }

    #[test]
    fn crlf_input_reads_like_lf() {
        let crlf = parse("a: 1\r\n# c\r\nb:\r\n  - x\r\nm: |\r\n  l1\r\n  l2\r\n").expect("parses");
        let lf = parse("a: 1\n# c\nb:\n  - x\nm: |\n  l1\n  l2\n").expect("parses");
        assert_eq!(crlf, lf);
    }

    #[test]
    fn anchors_are_resolved() {
        let out = round("base: &b {x: 1}\nother: *b\n");
        assert_eq!(out, "base:\n    x: 1\nother:\n    x: 1\n");
    }
}
