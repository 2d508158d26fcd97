//! Fuzzes the SOPS readers with arbitrary bytes: YAML and JSON parsing and writing, the `sops:`
//! metadata and its selectors, and opening the file with a fixed test identity
//! (`fuzz/keys/sops_parse.agekey`, public on purpose) plus the bundled example's demo CI key.
//! The seeds in `fuzz/seeds/sops_parse` are encrypted to those keys, so their mutants get past
//! the age unwrap into the value ciphertexts and the MAC, and a file that opens is encrypted
//! again. Any input may be refused; none may panic.
//!
//! Run on stable (libFuzzer needs nightly flags; RUSTC_BOOTSTRAP allows them):
//! `cargo xtask fuzz 300`, or by hand from the repository root:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run sops_parse fuzz/corpus/sops_parse fuzz/seeds/sops_parse -- -max_total_time=60`
#![no_main]

use ferry::secrets::sops::{metadata, Format};
use ferry::secrets::{file, Identities};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static IDS: LazyLock<Identities> = LazyLock::new(|| {
    let text = [
        include_str!("../keys/sops_parse.agekey"),
        include_str!("../../examples/platform/keys/ci.agekey"),
    ]
    .join("\n");
    Identities::from_text(&text, "fuzz identities").expect("the fuzz identities parse")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Yaml, Format::Json] {
        if let Ok(mut docs) = format.parse(text) {
            let _ = format.emit(&docs);
            if let Ok(md) = metadata::extract(&mut docs) {
                let _ = md.selectors.compile();
                let _ = md.foreign_key_groups();
                let _ = md.to_value();
            }
        }
        // Age unwrap, every value's ciphertext and type, the MAC; then the write-back paths.
        if let Ok(opened) = file::open(text, format, &IDS) {
            let _ = opened.plaintext();
            let _ = file::reseal(&opened);
        }
    }
});
