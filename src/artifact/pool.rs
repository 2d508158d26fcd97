//! Registry clients kept between calls, for a caller that asks the same registries again and
//! again (the agent's manifest HEAD every interval, for every Sync). Building a client loads
//! the system's TLS roots, which costs more CPU than the request itself, and a kept client
//! reuses its connection instead of a new TCP (and TLS) handshake per request.

use super::oci::{Registry, RegistryError, RegistryOptions};
use super::ArtifactRef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What makes two clients interchangeable: the registry and every option that shapes how it
/// is asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    registry: String,
    insecure: bool,
    attempts: u32,
    backoff: Duration,
    credentials: Option<(String, String)>,
}

impl Key {
    fn new(r: &ArtifactRef, opts: &RegistryOptions) -> Key {
        Key {
            registry: r.registry.clone(),
            insecure: opts.insecure,
            attempts: opts.attempts,
            backoff: opts.backoff,
            credentials: opts
                .credentials
                .as_ref()
                .map(|c| (c.username.clone(), c.password.clone())),
        }
    }
}

/// One client per registry and options. A client's calls are made one at a time (it drives
/// its own single-threaded runtime); a failed call drops the client, so the next one starts
/// afresh.
#[derive(Default)]
pub struct RegistryPool {
    clients: Mutex<HashMap<Key, Arc<Mutex<Registry>>>>,
}

impl RegistryPool {
    pub fn new() -> RegistryPool {
        RegistryPool::default()
    }

    /// How many clients are kept (for tests).
    pub fn len(&self) -> usize {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn client(
        &self,
        key: &Key,
        r: &ArtifactRef,
        opts: &RegistryOptions,
    ) -> Result<Arc<Mutex<Registry>>, RegistryError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(key) {
            return Ok(c.clone());
        }
        let c = Arc::new(Mutex::new(Registry::connect(
            r,
            "resolving the artifact's tag",
            opts,
        )?));
        clients.insert(key.clone(), c.clone());
        Ok(c)
    }

    /// The digest `r` names now: its own digest, or a manifest HEAD for a tag, through the
    /// kept client for its registry.
    ///
    /// # Errors
    /// As [`Registry::manifest_digest`]; offline is refused before anything is kept.
    pub fn resolve_digest(
        &self,
        r: &ArtifactRef,
        opts: &RegistryOptions,
    ) -> Result<String, RegistryError> {
        if let Some(d) = &r.digest {
            return Ok(d.clone());
        }
        let key = Key::new(r, opts);
        let client = self.client(&key, r, opts)?;
        let result = client
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .manifest_digest(r);
        if result.is_err() {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            if clients.get(&key).is_some_and(|c| Arc::ptr_eq(c, &client)) {
                clients.remove(&key);
            }
        }
        result
    }
}
