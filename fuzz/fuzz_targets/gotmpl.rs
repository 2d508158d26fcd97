//! Fuzzes the Go template engine (crates/gotmpl) with arbitrary text: lexing, parsing and
//! executing with Sprig's functions on Helm-like data, in each missingkey mode. Any template
//! may be refused with an error; none may panic, hang or overflow the stack. The seeds in
//! `fuzz/seeds/gotmpl` are templates of the differential corpus.
//!
//! `cargo xtask fuzz gotmpl 300`, or by hand from the repository root:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run gotmpl fuzz/corpus/gotmpl fuzz/seeds/gotmpl -- -max_total_time=60`
#![no_main]

use gotmpl::{MissingKey, Templates, Value};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static DATA: LazyLock<serde_json::Value> = LazyLock::new(|| {
    serde_json::json!({
        "name": "web", "replicas": 3, "ratio": 0.5, "big": 1000000, "empty": "",
        "yes": true, "nothing": null, "list": ["a", "b"], "nums": [1, 2.5],
        "image": {"repository": "nginx", "tag": "1.25"}, "labels": {"app": "web"},
        "items": [{"name": "x", "port": 80}]
    })
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut t = Templates::with_funcs(gotmpl::sprig::funcs());
    t.missing_key = match mode % 3 {
        0 => MissingKey::Invalid,
        1 => MissingKey::Zero,
        _ => MissingKey::Error,
    };
    // Go has no bounds; ferry's (gotmpl::limits) turn a runaway template into an error. Tight
    // ones here keep each input fast; the string and list limits apply as in production.
    t.limits = gotmpl::Limits {
        max_output: 1 << 20,
        max_steps: Some(100_000),
    };
    if t.parse("fuzz", text).is_ok() {
        let _ = t.execute("fuzz", Value::from_json(&DATA));
    }
});
