//! Secrets: the SOPS format with age keys, compatible with sops 3.x, and the sealing of
//! rendered Secrets for an environment. Plaintext only ever lives in memory.

pub mod sops;
