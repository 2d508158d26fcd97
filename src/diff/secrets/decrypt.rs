//! The seam for decrypting SOPS-encrypted objects. The `secrets` module implements it with the
//! identities it holds; without one, the diff compares ciphertext and says when it cannot tell.

use serde_json::Value;

/// A decryption failure. Its message must never contain plaintext: it reaches the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DecryptError {
    pub message: String,
}

/// Decrypts SOPS documents in memory, for comparison only.
pub trait SecretDecryptor: Sync {
    /// Takes one object with a top-level `sops:` block and returns it with its values decrypted
    /// (and the `sops:` block in any state: it is ignored). `Ok(None)` when none of the
    /// identities at hand can open it: the diff then says "cannot tell" where ciphertexts differ.
    ///
    /// # Errors
    /// When an identity fits but decryption or the MAC check fails.
    fn decrypt(&self, object: &Value) -> Result<Option<Value>, DecryptError>;
}
