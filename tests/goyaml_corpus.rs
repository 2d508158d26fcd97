//! The Go output layer re-emits every kustomize case of the shared corpus byte for byte:
//! parse the expected output, write it again with `ferry::goyaml`, compare bytes.

use std::path::PathBuf;

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/corpus"));
    dir.join("expected").is_dir().then_some(dir)
}

/// First differing line, for a readable failure.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  want: {w:?}\n  got:  {g:?}", i + 1);
        }
    }
    format!(
        "lengths differ: want {} bytes, got {}",
        want.len(),
        got.len()
    )
}

#[test]
fn corpus_kustomize_outputs_round_trip_byte_for_byte() {
    let Some(dir) = corpus_dir() else {
        println!("SKIP: corpus not found (set FERRY_CORPUS)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("expected"))
        .expect("read corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("kustomize-") && name.ends_with(".yaml")
        })
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut docs_total = 0;
    for file in &files {
        let want = std::fs::read_to_string(file).expect("read expected");
        let docs = ferry::manifest::parse_rendered(&want).expect("expected output parses");
        docs_total += docs.len();
        let got = docs
            .iter()
            .map(ferry::goyaml::to_yaml)
            .collect::<Vec<_>>()
            .join("---\n");
        if got != want {
            failures.push(format!(
                "{}: {}",
                file.display(),
                first_difference(&want, &got)
            ));
        }
    }
    println!(
        "{} of {} files ({docs_total} documents) round-trip exactly",
        files.len() - failures.len(),
        files.len()
    );
    assert!(!files.is_empty(), "no kustomize cases in the corpus");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
