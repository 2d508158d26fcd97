//! Fuzzes the SOPS readers: YAML and JSON parsing, metadata extraction and decryption with an
//! identity that matches nothing. Any input may be refused; none may panic.
//! Run: `cargo +nightly fuzz run sops_parse -- -max_total_time=60` (the test suite runs the
//! same properties for a short while with proptest: tests/secrets_props.rs).
#![no_main]

use ferry::secrets::sops::{metadata, Format};
use ferry::secrets::{decrypt, Identities};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for format in [Format::Yaml, Format::Json] {
        if let Ok(mut docs) = format.parse(text) {
            let _ = format.emit(&docs);
            let _ = metadata::extract(&mut docs);
        }
        let _ = decrypt(text, format, &Identities::empty());
    }
});
