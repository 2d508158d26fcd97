//! `ferry keygen --signing` writes cosign's key format: an independent reader (Python's
//! hashlib.scrypt and an XSalsa20-Poly1305 written from the NaCl specification, then OpenSSL for
//! the PKCS#8) opens it with the password and finds the key of cosign.pub.

use std::path::Path;
use std::process::Command;

#[test]
fn an_independent_reader_opens_ferrys_cosign_key() {
    if !Command::new("python3")
        .arg("-c")
        .arg("import hashlib; hashlib.scrypt")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("SKIP: python3 with hashlib.scrypt is not available");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let prefix = tmp.path().join("cosign");
    let out = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["keygen", "--signing", "-q", "-o"])
        .arg(&prefix)
        .env("COSIGN_PASSWORD", "a password with spaces & ünïcode")
        .output()
        .expect("ferry");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("cosign.key"))
            .expect("key")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the private key is readable by its owner only");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/open_cosign_key.py");
    let run = |password: &str| {
        Command::new("python3")
            .arg(&script)
            .arg(tmp.path().join("cosign.key"))
            .arg(tmp.path().join("cosign.pub"))
            .arg(password)
            .output()
            .expect("python3")
    };
    let ok = run("a password with spaces & ünïcode");
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok"));
    let bad = run("another password");
    assert!(
        !bad.status.success(),
        "a wrong password must not open the key"
    );
    // keygen never overwrites.
    let again = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["keygen", "--signing", "-q", "-o"])
        .arg(&prefix)
        .env("COSIGN_PASSWORD", "x")
        .output()
        .expect("ferry");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
