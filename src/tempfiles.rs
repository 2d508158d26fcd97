//! Temporary files and directories ferry owns, removed when the process is interrupted
//! (SIGINT, SIGTERM, SIGHUP) as well as when they drop, and swept by the next run when a
//! process died without either (SIGKILL, power loss).
//!
//! Every temporary is created through [`track`], under the registry's lock: the interrupt
//! handler takes the same lock, so it never races a creation, and it exits while holding it,
//! so nothing new appears after it cleaned up. Work that must not be cut in half (renaming a
//! build into place) runs under [`critical`] for the same reason.
//!
//! Names carry the owner's process id (`ferry-<what>-<pid>-<random>`), which is how a later run
//! tells a dead process's leftovers from a live one's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    paths: BTreeMap::new(),
});

struct Registry {
    next: u64,
    paths: BTreeMap<u64, PathBuf>,
}

fn registry() -> MutexGuard<'static, Registry> {
    // A panic elsewhere must not stop the cleanup.
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A temporary that is removed on interrupt while it lives. Dropping it unregisters it and
/// drops `T` (which removes it, as `tempfile` types do).
pub struct Tracked<T> {
    inner: Option<T>,
    id: u64,
}

impl<T> std::ops::Deref for Tracked<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inner.as_ref().expect("present until into_inner")
    }
}

impl<T> Drop for Tracked<T> {
    fn drop(&mut self) {
        registry().paths.remove(&self.id);
    }
}

impl<T> Tracked<T> {
    /// Stops tracking and returns the temporary (to rename it into place inside [`critical`]).
    pub fn into_inner(mut self) -> T {
        registry().paths.remove(&self.id);
        self.inner.take().expect("present until into_inner")
    }
}

/// The prefix of a temporary's name: `ferry-<what>-<pid>-`.
pub fn prefix(what: &str) -> String {
    format!("ferry-{what}-{}-", std::process::id())
}

/// Creates a temporary with `create` and registers `path(&it)` for removal on interrupt.
///
/// # Errors
/// Whatever `create` returns.
pub fn track<T, E>(
    create: impl FnOnce() -> Result<T, E>,
    path: impl FnOnce(&T) -> PathBuf,
) -> Result<Tracked<T>, E> {
    let mut reg = registry();
    let inner = create()?;
    let id = reg.next;
    reg.next += 1;
    reg.paths.insert(id, path(&inner));
    Ok(Tracked {
        inner: Some(inner),
        id,
    })
}

/// Runs `f` where an interrupt cannot cut it: the handler waits until it is done. `f` must
/// not create, drop or untrack a [`Tracked`]: the lock is not reentrant.
pub fn critical<R>(f: impl FnOnce() -> R) -> R {
    let _guard = registry();
    f()
}

fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Removes every tracked temporary now; returns how many there were. The registry stays
/// locked by the caller's guard when called from the handler.
fn remove_all(reg: &mut Registry) -> usize {
    let n = reg.paths.len();
    for p in std::mem::take(&mut reg.paths).into_values() {
        remove(&p);
    }
    n
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP: remove every tracked temporary, then
/// exit with status 130. Does nothing when another handler is already installed.
pub fn remove_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        let mut reg = registry();
        remove_all(&mut reg);
        eprintln!("interrupted: temporary files removed");
        // Exit with the lock held: no thread can create a temporary after the cleanup.
        std::process::exit(130);
    });
}

/// Whether process `pid` is alive (Linux: it has a `/proc` entry). `None` where that cannot be
/// told, so that nothing is removed on a guess.
fn alive(pid: u32) -> Option<bool> {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return None;
    }
    Some(proc_dir.join(pid.to_string()).exists())
}

/// The owner's process id in a name made with [`prefix`]`(what)`.
fn owner(name: &str, what: &str) -> Option<u32> {
    let rest = name.strip_prefix(&format!("ferry-{what}-"))?;
    rest.split('-').next()?.parse().ok()
}

/// Removes `ferry-<what>-<pid>-*` entries of `dir` left by processes that are gone, and owned
/// by this user. Returns the paths removed.
pub fn sweep_stale(dir: &Path, what: &str) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata("/proc/self") else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(pid) = owner(&name, what) else {
            continue;
        };
        let mine = e.metadata().is_ok_and(|m| m.uid() == me.uid());
        if mine && pid != std::process::id() && alive(pid) == Some(false) {
            remove(&e.path());
            removed.push(e.path());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_dead_processes_are_swept_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Process ids above the kernel's maximum (4194304) are never alive.
        let dead = dir.path().join("ferry-checkout-4294967295-abc");
        let live = dir.path().join(format!("{}x", prefix("checkout")));
        let other = dir.path().join("ferry-set-4294967295-abc");
        for d in [&dead, &live, &other] {
            std::fs::create_dir(d).expect("mkdir");
        }
        let removed = sweep_stale(dir.path(), "checkout");
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists() && live.exists() && other.exists());
    }

    #[test]
    fn tracked_temporaries_leave_the_registry_when_dropped() {
        let t = track(tempfile::tempdir, |d| d.path().to_path_buf()).expect("tempdir");
        let id = t.id;
        assert!(registry().paths.contains_key(&id));
        let path = t.path().to_path_buf();
        drop(t);
        assert!(!path.exists());
        assert!(!registry().paths.contains_key(&id));
    }
}
