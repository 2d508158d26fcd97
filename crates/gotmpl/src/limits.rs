//! Bounds on what one execution may build. Go's engine has none: a template that ranges over
//! `until 1000000000` or asks `repeat` for a terabyte hangs or kills helm. ferry renders
//! charts in CI and inside the in-cluster agent, so such a template gets an error naming the
//! bound instead, and no chart a cluster could accept comes near them (an object is at most
//! about 1.5 MiB in etcd).

use crate::value::Value;

/// Longest string a function or `printf` may build, in bytes.
pub const MAX_STRING: usize = 16 << 20;
/// Longest list a function may build, in elements.
pub const MAX_LIST: usize = 1 << 20;

/// Per-execution bounds, shared by the templates an execution calls (`template`, `include`,
/// `tpl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one execution (one template, or one `include`/`tpl` within it) may write.
    pub max_output: usize,
    /// Text nodes, actions and loop iterations one top-level execution may run, nested calls
    /// included; `None` is unbounded, as in Go.
    pub max_steps: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 64 << 20,
            max_steps: None,
        }
    }
}

/// An error when a function would build a string of `len` bytes.
pub(crate) fn check_string(len: usize) -> Result<(), String> {
    if len > MAX_STRING {
        return Err(format!(
            "the result would be {len} bytes, over ferry's limit of {MAX_STRING} bytes for one string"
        ));
    }
    Ok(())
}

/// An error when a function would build a list of `len` elements.
pub(crate) fn check_list(len: usize) -> Result<(), String> {
    if len > MAX_LIST {
        return Err(format!(
            "the result would have {len} elements, over ferry's limit of {MAX_LIST} for one list"
        ));
    }
    Ok(())
}

/// Checks a value a function returned (the functions that build from a count check before
/// they allocate; this catches growth by concatenation, one call at a time).
pub(crate) fn check_value(v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) => check_string(s.len()),
        Value::List(_, items) => check_list(items.len()),
        _ => Ok(()),
    }
}
