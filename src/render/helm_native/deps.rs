//! Dependencies as `helm template` settles them before rendering (Helm's
//! `ProcessDependencies`): aliases copy a subchart under a new name, `tags` and `condition`
//! disable subcharts, and `import-values` (both forms) lift a subchart's values into the
//! parent's.

use super::chart::{Chart, Dependency};
use super::values::{coalesce, coalesce_tables, path_value, table, Values};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Whether `version` satisfies the dependency's constraint (`IsCompatibleRange`).
fn compatible(constraint: &str, version: &str) -> bool {
    gotmpl::sprig::semver::semver_compare(constraint, version).unwrap_or(false)
}

pub fn process(c: &mut Chart, user: &Values) {
    process_enabled(c, user, "");
    process_import_values(c);
}

fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    let c = charts
        .iter()
        .find(|c| c.name() == dep.name && compatible(&dep.version, &c.metadata.version))?;
    let mut out = c.clone();
    if !dep.alias.is_empty() {
        out.metadata.name = dep.alias.clone();
    }
    Some(out)
}

fn process_enabled(c: &mut Chart, v: &Values, path: &str) {
    let Some(mut reqs) = c.metadata.dependencies.clone() else {
        return;
    };
    let mut deps: Vec<Chart> = c
        .dependencies
        .iter()
        .filter(|d| {
            !reqs
                .iter()
                .any(|r| d.name() == r.name && compatible(&r.version, &d.metadata.version))
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut() {
        if let Some(ch) = alias_dependency(&c.dependencies, req) {
            deps.push(ch);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = deps;
    for r in reqs.iter_mut() {
        r.enabled = true;
    }
    let cvals = coalesce(c, v, false);
    process_tags(&mut reqs, &cvals);
    process_conditions(&mut reqs, &cvals, path);
    let rm: HashSet<String> = reqs
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !rm.contains(d.name()));
    reqs.retain(|r| !rm.contains(&r.name));
    for t in c.dependencies.iter_mut() {
        let sub = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub);
    }
    c.metadata.dependencies = (!reqs.is_empty()).then_some(reqs);
}

fn process_tags(reqs: &mut [Dependency], cvals: &Values) {
    let Some(vt) = table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            if let Some(Value::Bool(b)) = vt.get(k) {
                if *b {
                    has_true = true;
                } else {
                    has_false = true;
                }
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(reqs: &mut [Dependency], cvals: &Values, path: &str) {
    for r in reqs.iter_mut() {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(cvals, &format!("{path}{cond}")) {
                r.enabled = *b;
                break;
            }
        }
    }
}

fn path_to_map(path: &str, data: Values) -> Values {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(p.to_string(), Value::Object(cur));
        cur = m;
    }
    cur
}

/// `MergeTables(dst, src)`: `dst` wins, nulls kept.
fn merge_tables(mut dst: Values, mut src: Values) -> Values {
    coalesce_tables(&mut dst, &mut src, true);
    dst
}

/// Go's `%v` of a YAML scalar in `import-values` (`child`, `parent`).
fn go_v(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => gotmpl::gofmt::format_v(&gotmpl::Value::from_json(other)),
    }
}

fn process_import_values(c: &mut Chart) {
    for d in c.dependencies.iter_mut() {
        process_import_values(d);
    }
    let Some(reqs) = c.metadata.dependencies.clone() else {
        return;
    };
    let cvals = coalesce(c, &Map::new(), true);
    let mut b = Map::new();
    for r in &reqs {
        for iv in &r.import_values {
            match iv {
                Value::Object(m) => {
                    let child = go_v(m.get("child"));
                    let parent = go_v(m.get("parent"));
                    if let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) {
                        b = merge_tables(b, path_to_map(&parent, vv.clone()));
                    }
                }
                Value::String(s) => {
                    if let Some(vm) = table(&cvals, &format!("{}.exports.{s}", r.name)) {
                        b = merge_tables(b, vm.clone());
                    }
                }
                _ => {}
            }
        }
    }
    c.values = merge_tables(cvals, b);
}
