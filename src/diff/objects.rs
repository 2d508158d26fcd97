//! Comparing two builds object by object: identical bytes are unchanged without parsing; the
//! rest are parsed, stripped of server-set fields, and described (secrets redacted) in parallel.

use super::load::{Build, Entry};
use super::report::{ChangeKind, Counts, EnvDiff, KeyStatus, ObjectChange};
use super::secrets::{self, SecretPolicy};
use super::{strip_server_fields, unified_diff, DiffError, DiffOptions, SecretContext};
use crate::manifest::{to_yaml, ObjRef};
use rayon::prelude::*;
use serde_json::Value;

/// One side of a pair that needs a closer look.
type Side<'a> = Option<(&'a Build, &'a Entry)>;

/// Compares two builds of one environment. The environment's name is the new build's (the old
/// one's when the new side is empty).
///
/// # Errors
/// When an object that differs cannot be parsed, or a secret cannot be decrypted.
pub fn compare(
    old: &Build,
    new: &Build,
    opts: &DiffOptions,
    ctx: SecretContext<'_>,
) -> Result<EnvDiff, DiffError> {
    let mut counts = Counts::default();
    let mut changes = Vec::new();
    let mut pending: Vec<(&ObjRef, Side<'_>, Side<'_>)> = Vec::new();
    // `--tenant`: each side keeps its filtered owners' objects, as its own index attributes them.
    let keep = |e: &&Entry| {
        opts.tenants
            .as_ref()
            .is_none_or(|f| f.keeps(e.tenant.as_deref()))
    };
    let mut olds = old.objects.iter().filter(|(_, e)| keep(e)).peekable();
    let mut news = new.objects.iter().filter(|(_, e)| keep(e)).peekable();
    loop {
        let order = match (olds.peek(), news.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            std::cmp::Ordering::Less => {
                let (obj, e) = olds.next().expect("peeked");
                pending.push((obj, Some((old, e)), None));
            }
            std::cmp::Ordering::Greater => {
                let (obj, e) = news.next().expect("peeked");
                pending.push((obj, None, Some((new, e))));
            }
            std::cmp::Ordering::Equal => {
                let (obj, a) = olds.next().expect("peeked");
                let (_, b) = news.next().expect("peeked");
                if a.digest == b.digest {
                    same_content(obj, a, b, &mut counts, &mut changes);
                } else {
                    pending.push((obj, Some((old, a)), Some((new, b))));
                }
            }
        }
    }
    let policy = SecretPolicy::new(&opts.secret_kinds);
    let described: Vec<Result<Option<ObjectChange>, DiffError>> = pending
        .par_iter()
        .map(|(obj, a, b)| describe(obj, *a, *b, &policy, opts, &ctx))
        .collect();
    for ((obj, a, b), d) in pending.iter().zip(described) {
        match d? {
            Some(change) => {
                counts.count(change.change);
                changes.push(change);
            }
            None => {
                let (a, b) = (
                    a.expect("only pairs compare equal").1,
                    b.expect("only pairs compare equal").1,
                );
                same_content(obj, a, b, &mut counts, &mut changes);
            }
        }
    }
    let environment = if new.environment.is_empty() {
        old.environment.clone()
    } else {
        new.environment.clone()
    };
    Ok(EnvDiff {
        environment,
        from: old.revision.clone(),
        to: new.revision.clone(),
        counts,
        changes,
        tenants: old
            .tenants
            .keys()
            .chain(new.tenants.keys())
            .cloned()
            .collect(),
        violations: Vec::new(),
    })
}

/// Equal content: unchanged, or moved when another app renders it now.
fn same_content(
    obj: &ObjRef,
    a: &Entry,
    b: &Entry,
    counts: &mut Counts,
    changes: &mut Vec<ObjectChange>,
) {
    if a.app == b.app {
        counts.unchanged += 1;
        return;
    }
    counts.count(ChangeKind::Moved);
    changes.push(ObjectChange {
        change: ChangeKind::Moved,
        object: obj.clone(),
        api_version: b.api_version.clone(),
        app: b.app.clone(),
        tenant: b.tenant.clone(),
        previous_app: Some(a.app.clone()),
        diff: String::new(),
        secret_keys: None,
    });
}

fn parse(obj: &ObjRef, side: Side<'_>, policy: &SecretPolicy) -> Result<Option<Value>, DiffError> {
    let Some((build, entry)) = side else {
        return Ok(None);
    };
    // A SOPS file is secret whatever its kind; the check is on bytes because parsing failed.
    let secret = policy.is_secret_kind(obj) || entry.bytes.windows(6).any(|w| w == b"\nsops:");
    let mut v = entry.parse(build, obj, secret)?;
    strip_server_fields(&mut v);
    Ok(Some(v))
}

/// The change between two sides, or `None` when they turn out equal (after normalisation, or
/// after decrypting re-encrypted secrets).
fn describe(
    obj: &ObjRef,
    a: Side<'_>,
    b: Side<'_>,
    policy: &SecretPolicy,
    opts: &DiffOptions,
    ctx: &SecretContext<'_>,
) -> Result<Option<ObjectChange>, DiffError> {
    let old = parse(obj, a, policy)?;
    let new = parse(obj, b, policy)?;
    if old.is_some() && old == new {
        return Ok(None);
    }
    let secret = [&old, &new]
        .into_iter()
        .flatten()
        .any(|v| policy.is_secret(obj, v));
    let secret_keys = if secret {
        let file = b
            .or(a)
            .map(|(build, e)| build.dir.join(&e.path).display().to_string())
            .unwrap_or_default();
        let keys =
            secrets::compare_keys(obj, old.as_ref(), new.as_ref(), ctx).map_err(|source| {
                DiffError::Decrypt {
                    object: obj.to_string(),
                    file,
                    source,
                }
            })?;
        Some(keys)
    } else {
        None
    };
    let text = |v: &Option<Value>| {
        v.as_ref().map_or_else(String::new, |v| {
            if secret {
                let mut r = v.clone();
                secrets::redact(obj, &mut r);
                to_yaml(&r)
            } else {
                to_yaml(v)
            }
        })
    };
    let diff = unified_diff(&text(&old), &text(&new), opts.context_lines);
    let change = match (&old, &new) {
        (None, _) => ChangeKind::Added,
        (_, None) => ChangeKind::Removed,
        _ => ChangeKind::Changed,
    };
    let keys_unchanged = secret_keys
        .as_ref()
        .is_none_or(|k| k.iter().all(|k| k.status == KeyStatus::Unchanged));
    if change == ChangeKind::Changed && diff.is_empty() && keys_unchanged {
        return Ok(None);
    }
    let (a_entry, b_entry) = (a.map(|s| s.1), b.map(|s| s.1));
    let current = b_entry.or(a_entry).expect("one side exists");
    Ok(Some(ObjectChange {
        change,
        object: obj.clone(),
        api_version: current.api_version.clone(),
        app: current.app.clone(),
        tenant: current.tenant.clone(),
        previous_app: match (a_entry, b_entry) {
            (Some(x), Some(y)) if x.app != y.app => Some(x.app.clone()),
            _ => None,
        },
        diff,
        secret_keys,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn build(env: &str, objects: &[(&str, &str)]) -> Build {
        let mut b = Build::empty(env);
        for (app, yaml) in objects {
            let v = crate::manifest::parse_documents(yaml)
                .expect("yaml")
                .remove(0);
            let obj = crate::manifest::Object::from_value(v).expect("object");
            b.objects.insert(
                obj.obj_ref(),
                Entry {
                    app: app.to_string(),
                    tenant: None,
                    api_version: obj.api_version().to_string(),
                    path: format!("{app}/x.yaml"),
                    digest: Sha256::digest(yaml.as_bytes()).into(),
                    bytes: yaml.as_bytes().to_vec(),
                },
            );
        }
        b
    }

    const CM: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n\ndata:\n  k: v\n";

    #[test]
    fn server_set_fields_alone_are_no_change() {
        let live = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n\n  uid: 42\n  resourceVersion: \"7\"\n  creationTimestamp: null\ndata:\n  k: v\nstatus: {}\n";
        let d = compare(
            &build("e", &[("app", CM)]),
            &build("e", &[("app", live)]),
            &DiffOptions::default(),
            SecretContext::default(),
        )
        .expect("compares");
        assert_eq!(
            d.counts,
            Counts {
                unchanged: 1,
                ..Counts::default()
            }
        );
        assert!(d.changes.is_empty());
    }

    #[test]
    fn same_object_from_another_app_is_moved_and_a_changed_one_names_both_apps() {
        let d = compare(
            &build("e", &[("old", CM)]),
            &build("e", &[("new", CM)]),
            &DiffOptions::default(),
            SecretContext::default(),
        )
        .expect("compares");
        assert_eq!(d.counts.moved, 1);
        assert_eq!(
            (
                d.changes[0].app.as_str(),
                d.changes[0].previous_app.as_deref()
            ),
            ("new", Some("old"))
        );
        let changed = CM.replace("k: v", "k: w");
        let d = compare(
            &build("e", &[("old", CM)]),
            &build("e", &[("new", &changed)]),
            &DiffOptions::default(),
            SecretContext::default(),
        )
        .expect("compares");
        assert_eq!(d.counts.changed, 1);
        assert_eq!(d.changes[0].previous_app.as_deref(), Some("old"));
        assert_eq!(
            d.changes[0].diff,
            "@@ -1,6 +1,6 @@\n apiVersion: v1\n data:\n-  k: v\n+  k: w\n kind: ConfigMap\n metadata:\n   name: a\n"
        );
    }

    #[test]
    fn an_environment_missing_on_one_side_is_all_added() {
        let d = compare(
            &Build::empty("qa"),
            &build("qa", &[("app", CM)]),
            &DiffOptions::default(),
            SecretContext::default(),
        )
        .expect("compares");
        assert_eq!((d.environment.as_str(), d.counts.added), ("qa", 1));
        assert!(d.changes[0]
            .diff
            .starts_with("@@ -0,0 +1,7 @@\n+apiVersion: v1\n"));
    }

    #[test]
    fn configured_secret_kinds_are_redacted_in_the_diff() {
        let old = "apiVersion: example.com/v1\nkind: Credentials\nmetadata:\n  name: c\nspec:\n  password: hunter2\n";
        let new = "apiVersion: example.com/v1\nkind: Credentials\nmetadata:\n  name: c\nspec:\n  password: hunter3\n  user: bob\n";
        let opts = DiffOptions {
            secret_kinds: vec!["Credentials".into()],
            ..DiffOptions::default()
        };
        let d = compare(
            &build("e", &[("a", old)]),
            &build("e", &[("a", new)]),
            &opts,
            SecretContext::default(),
        )
        .expect("compares");
        let c = &d.changes[0];
        assert!(
            !c.diff.contains("hunter") && !c.diff.contains("bob"),
            "{}",
            c.diff
        );
        assert!(c.diff.contains("+  user: <redacted>"), "{}", c.diff);
        let keys: Vec<_> = c
            .secret_keys
            .as_ref()
            .expect("keys")
            .iter()
            .map(|k| (k.key.as_str(), k.status))
            .collect();
        assert_eq!(
            keys,
            [
                ("spec.password", KeyStatus::Changed),
                ("spec.user", KeyStatus::Added)
            ]
        );
        // Without the option, the same object is an ordinary one.
        let d = compare(
            &build("e", &[("a", old)]),
            &build("e", &[("a", new)]),
            &DiffOptions::default(),
            SecretContext::default(),
        )
        .expect("compares");
        assert!(d.changes[0].secret_keys.is_none());
    }
}
