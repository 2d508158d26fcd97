//! Results of pure functions of a text, kept by that text for the rest of the process and
//! shared by all threads: the same rendered manifest read again (a chart many apps or
//! environments share, a chart re-rendered on every reconcile) costs a hash and a compare.
//! Bounded by the bytes of text held; when full it starts again empty.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub struct TextMemo<V> {
    max_bytes: usize,
    inner: OnceLock<Mutex<Inner<V>>>,
}

struct Inner<V> {
    by_hash: HashMap<u64, Vec<(Arc<str>, V)>>,
    bytes: usize,
}

impl<V: Clone> TextMemo<V> {
    pub const fn new(max_bytes: usize) -> Self {
        TextMemo {
            max_bytes,
            inner: OnceLock::new(),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner
            .get_or_init(|| {
                Mutex::new(Inner {
                    by_hash: HashMap::new(),
                    bytes: 0,
                })
            })
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn hash(text: &str) -> u64 {
        let mut h = DefaultHasher::new();
        text.hash(&mut h);
        h.finish()
    }

    /// The value kept for `text`, or `compute(text)` kept when it is `Ok` (errors are
    /// returned as they are and not kept: they may name the caller's file).
    pub fn get_or_try<E>(
        &self,
        text: &str,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let key = Self::hash(text);
        {
            let inner = self.inner();
            if let Some((_, v)) = inner
                .by_hash
                .get(&key)
                .and_then(|b| b.iter().find(|(t, _)| &**t == text))
            {
                return Ok(v.clone());
            }
        }
        let v = compute()?;
        if text.len() <= self.max_bytes {
            let mut inner = self.inner();
            if inner.bytes + text.len() > self.max_bytes {
                inner.by_hash.clear();
                inner.bytes = 0;
            }
            let bucket = inner.by_hash.entry(key).or_default();
            if !bucket.iter().any(|(t, _)| &**t == text) {
                bucket.push((Arc::from(text), v.clone()));
                inner.bytes += text.len();
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_value_is_computed_once_per_text_and_errors_are_not_kept() {
        let memo: TextMemo<usize> = TextMemo::new(1 << 10);
        let calls = Cell::new(0);
        let len = |t: &str| {
            calls.set(calls.get() + 1);
            Ok::<_, ()>(t.len())
        };
        assert_eq!(memo.get_or_try("abc", || len("abc")), Ok(3));
        assert_eq!(memo.get_or_try("abc", || len("abc")), Ok(3));
        assert_eq!(calls.get(), 1);
        assert_eq!(memo.get_or_try("abcd", || len("abcd")), Ok(4));
        assert_eq!(calls.get(), 2);
        assert_eq!(memo.get_or_try("bad", || Err::<usize, _>("no")), Err("no"));
        assert_eq!(
            memo.get_or_try("bad", || Ok::<_, &str>(7)),
            Ok(7),
            "an error was not kept"
        );
    }

    #[test]
    fn a_full_memo_starts_again_and_oversized_texts_are_not_kept() {
        let memo: TextMemo<u8> = TextMemo::new(8);
        let calls = Cell::new(0);
        let one = || {
            calls.set(calls.get() + 1);
            Ok::<u8, ()>(1)
        };
        memo.get_or_try("123456", one).ok();
        memo.get_or_try("123456", one).ok();
        assert_eq!(calls.get(), 1);
        memo.get_or_try("abcdef", one).ok(); // 12 bytes > 8: the memo is emptied first
        memo.get_or_try("123456", one).ok();
        assert_eq!(calls.get(), 3);
        memo.get_or_try("a text longer than eight", one).ok();
        memo.get_or_try("a text longer than eight", one).ok();
        assert_eq!(calls.get(), 5);
    }
}
