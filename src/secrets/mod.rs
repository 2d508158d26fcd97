//! Secrets: the SOPS format with age keys, compatible with sops 3.x, and the sealing of
//! rendered Secrets for an environment. Plaintext only ever lives in memory.

pub mod age;
pub mod bench;
pub mod build;
pub mod config;
pub mod disclosed;
pub mod file;
pub mod identity;
pub mod open;
pub mod seal;
pub mod sops;

pub use self::age::Recipient;
pub use disclosed::{Disclosed, Leak};
pub use file::{decrypt, encrypt, open, EncryptOptions, Opened};
pub use identity::Identities;
pub use sops::{Format, SopsError};

/// Why a secrets operation failed. No message ever holds a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(transparent)]
    Sops(#[from] SopsError),
    #[error("invalid age recipient `{recipient}`: {message}")]
    Recipient { recipient: String, message: String },
    #[error("cannot read identity from {origin}: {message}")]
    Identity { origin: String, message: String },
    #[error("age: {0}")]
    Age(String),
    #[error("{}", no_identity_message(recipients, identities, foreign))]
    NoIdentity {
        recipients: Vec<String>,
        identities: Vec<String>,
        foreign: Vec<String>,
    },
    #[error("no recipients: give --age, or a .sops.yaml creation rule with `age` for this file")]
    NoRecipients,
    /// Selectors that leave every value in clear: a `sops:` block over plaintext.
    #[error("{what}: {selectors} matches no key, so no value would be encrypted; keys seen: {keys}\nhint: {hint}")]
    EncryptsNothing {
        what: String,
        selectors: String,
        keys: String,
        hint: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("{path}: {message}")]
    Config { path: String, message: String },
}

fn no_identity_message(recipients: &[String], identities: &[String], foreign: &[String]) -> String {
    let mut m = String::from("no identity can open this file's data key");
    if recipients.is_empty() {
        m.push_str("; it has no age recipients");
    } else {
        m.push_str(&format!("; it is sealed for: {}", recipients.join(", ")));
    }
    if !foreign.is_empty() {
        m.push_str(&format!(
            " (also key groups ferry cannot use: {})",
            foreign.join(", ")
        ));
    }
    if identities.is_empty() {
        m.push_str("\nhint: no identity was found: set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, pass --identity FILE, or put one in ~/.config/sops/age/keys.txt");
    } else {
        let mut uniq = identities.to_vec();
        uniq.dedup();
        m.push_str(&format!(
            "\nhint: tried identities from {}",
            uniq.join(", ")
        ));
    }
    m
}
