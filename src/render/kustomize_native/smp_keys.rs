//! Lists merged by more than one key (container and service ports: `containerPort` or
//! `port`, and `protocol`), as kyaml's `walkAssociativeSequence` does it with kustomize's
//! prepend option. Its steps give orders and losses a simpler merge would not:
//! - the key tuples of the patch's then the object's elements are gathered, and tuples that
//!   agree wherever both are set are completed from each other (`mergeValues`);
//! - each tuple is merged from the elements carrying *all* its set values: a patch element
//!   lacking a key the object's element has is then not merged at all;
//! - the object's elements are merged in place and afterwards moved to the end in their
//!   order; one lacking a key replaces every merged element sharing its other keys.
//!
//! Only the keys some element sets take part, as kyaml's `validateKeys` has it; with one
//! left, the list merges as a single-key list (`smp::merge_list`).

use serde_json::Value;

/// The keys some element of either list sets (all of them when none is set).
pub fn valid_keys<'a>(dest: &[Value], patch: &[Value], keys: &[&'a str]) -> Vec<&'a str> {
    let valid: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| {
            dest.iter()
                .chain(patch)
                .any(|e| !text(e, k).unwrap_or_default().is_empty())
        })
        .collect();
    if valid.is_empty() {
        keys.to_vec()
    } else {
        valid
    }
}

/// A key's value as kyaml compares it; `None` when the field is missing.
fn text(elem: &Value, key: &str) -> Option<String> {
    elem.get(key).and_then(super::fieldspec::scalar_text)
}

fn tuple(elem: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| text(elem, k).unwrap_or_default())
        .collect()
}

/// kyaml's `match`: tuples agreeing wherever both are set, with one common value.
fn combine(a: &[String], b: &[String]) -> Option<Vec<String>> {
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// The first element carrying every set value of `t`.
fn carrier(list: &[Value], keys: &[&str], t: &[String]) -> Option<usize> {
    list.iter().position(|e| {
        e.is_object()
            && keys
                .iter()
                .zip(t)
                .all(|(k, v)| v.is_empty() || text(e, k).as_deref() == Some(v.as_str()))
    })
}

pub fn merge_by_keys(
    gvk: (&str, &str),
    path: &mut Vec<String>,
    mut dest: Vec<Value>,
    patch: Vec<Value>,
    keys: &[&str],
) -> Result<Value, String> {
    // Elements setting none of the keys go first, untouched.
    let mut lead: Vec<Value> = Vec::new();
    let mut patch_keyed: Vec<Value> = Vec::new();
    for p in patch {
        if p.is_object() && tuple(&p, keys).iter().all(String::is_empty) {
            lead.push(p);
        } else {
            patch_keyed.push(p);
        }
    }
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for e in patch_keyed.iter().chain(&dest) {
        let t = tuple(e, keys);
        if !t.iter().all(String::is_empty) && !tuples.contains(&t) {
            tuples.push(t);
        }
    }
    for i in 0..tuples.len() {
        for j in 0..tuples.len() {
            if let Some(m) = combine(&tuples[i], &tuples[j]) {
                tuples[i] = m.clone();
                tuples[j] = m;
            }
        }
    }
    // The merged elements, by tuple, in first-seen order.
    let mut items: Vec<(Vec<String>, Value)> = Vec::new();
    for t in &tuples {
        let d = carrier(&dest, keys, t);
        let p = carrier(&patch_keyed, keys, t);
        let merged = match (d, p) {
            (Some(d), None) => Some(dest[d].clone()),
            (d, Some(p)) => {
                super::smp::merge(gvk, path, d.map(|d| dest[d].clone()), &patch_keyed[p])?
            }
            (None, None) => None,
        };
        let merged = match merged {
            Some(Value::Object(mut m)) if !m.is_empty() => {
                for (k, v) in keys.iter().zip(t) {
                    if !v.is_empty() && !m.contains_key(*k) {
                        m.insert(k.to_string(), Value::String(v.clone()));
                    }
                }
                Value::Object(m)
            }
            Some(other @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => other,
            // Deleted: the object's element leaves the list.
            _ => {
                if let Some(d) = d {
                    dest.remove(d);
                }
                continue;
            }
        };
        if let Some(d) = d {
            dest[d] = merged.clone();
        }
        match items.iter_mut().find(|(it, _)| it == t) {
            Some(slot) => slot.1 = merged,
            None => items.push((t.clone(), merged)),
        }
    }
    // kyaml's `appendListNode`: each of the object's elements drops the merged elements
    // matching the values it sets (compared position by position, as kyaml does) and goes
    // to the end.
    let mut out: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    for d in dest {
        let present: Vec<String> = keys.iter().filter_map(|k| text(&d, k)).collect();
        out.retain(|item| {
            !present
                .iter()
                .zip(keys)
                .all(|(v, k)| text(item, k).as_deref() == Some(v.as_str()))
        });
        out.push(d);
    }
    lead.extend(out);
    Ok(Value::Array(lead))
}
