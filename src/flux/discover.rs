//! Following a cluster's Kustomizations as Flux reconciles them: the cluster root first, then
//! every Kustomization a rendered one deploys, level by level (each level in parallel), until
//! nothing new appears. A Kustomization waits for its source and its `substituteFrom` objects
//! to be rendered by another one; what never appears is an error naming it.

use super::render::Job;
use super::spec::{self, Kustomization};
use super::vars::{self, VarsError};
use super::{FluxError, Options, Unit};
use crate::secrets::Disclosed;
use crate::source::{normalize, Tree};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A Kustomization found in a rendered unit, not rendered yet.
struct Pending {
    namespace: String,
    name: String,
    value: Value,
    /// The unit whose output holds it.
    parent: String,
}

/// A Kustomization ready to render: its spec, path, variables and what opening them disclosed.
type Ready = (
    Pending,
    Kustomization,
    String,
    Option<BTreeMap<String, String>>,
    Disclosed,
    Option<super::oci::Content>,
);

/// A Kustomization rendered (or failed), with what its variables disclosed.
type Finished = (
    Pending,
    Kustomization,
    String,
    Result<super::render::Rendered, String>,
    Disclosed,
);

/// A rendered unit before its Flux objects are taken out of its output.
struct Done {
    unit: Unit,
    objects: Vec<Value>,
}

#[derive(Default)]
pub struct Discovered {
    pub units: Vec<Unit>,
    /// The HelmReleases the units render, resolved.
    pub helm: Vec<HelmFound>,
    /// Suspended Kustomizations, `namespace/name`.
    pub suspended: Vec<String>,
    /// Kustomizations in dependency order.
    pub order: Vec<String>,
    /// The OCIRepositories Kustomizations build from (what `ferry vendor --flux` fetches).
    pub oci_sources: BTreeSet<crate::vendor::oci_source::OciSource>,
}

/// A HelmRelease to render, with where it is declared.
pub struct HelmFound {
    pub unit: super::helmrelease::HelmUnit,
    pub file: String,
}

/// A file's text, and the `(kind, name)` of its documents once parsed (none when it is not
/// YAML).
type Scanned = (String, Option<Option<Vec<(String, String)>>>);

/// Which repository file declares an object, for messages. Each file is read and parsed at
/// most once however many objects are looked up (a cluster root lists dozens of
/// Kustomizations, a directory of HelmReleases holds one file each).
#[derive(Default)]
struct Locator {
    files: HashMap<String, Scanned>,
}

impl Locator {
    /// The first file under `dir` that declares `kind` `name`.
    fn locate(&mut self, tree: &dyn Tree, dir: &str, kind: &str, name: &str) -> Option<String> {
        let files = tree.files_under(dir).ok()?;
        files.into_iter().find(|f| {
            if !(f.ends_with(".yaml") || f.ends_with(".yml")) {
                return false;
            }
            let (text, parsed) = self.files.entry(f.clone()).or_insert_with(|| {
                let text = tree
                    .read(f)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                (text, None)
            });
            // Most files do not mention the name at all: no parse for them.
            if !text.contains(name) {
                return false;
            }
            let ids = parsed.get_or_insert_with(|| {
                crate::manifest::parse_rendered(text).ok().map(|docs| {
                    docs.iter()
                        .map(|d| {
                            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                            (s(&d["kind"]), s(&d["metadata"]["name"]))
                        })
                        .collect()
                })
            });
            ids.as_ref()
                .is_some_and(|ids| ids.iter().any(|(k, n)| k == kind && n == name))
        })
    }
}

fn digest(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// Follows the Kustomizations of the cluster rooted at `root` (a repository path).
pub fn discover(
    tree: &dyn Tree,
    cluster: &str,
    root: &str,
    opts: &Options,
) -> (Discovered, Vec<FluxError>) {
    let mut errors: Vec<FluxError> = Vec::new();
    let mut done: Vec<Done> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut suspended = Vec::new();
    let mut oci_sources = BTreeSet::new();
    let mut locator = Locator::default();
    // GitRepositories known to be this repository, `namespace/name`.
    let mut this_repo: BTreeSet<(String, String)> = BTreeSet::new();
    let fail = |object: String, file: &str, message: String| FluxError {
        cluster: cluster.to_string(),
        object,
        file: file.to_string(),
        message,
    };

    // The cluster root, as the bootstrap Kustomization would build it.
    let root_spec = Kustomization::default();
    let root_job = Job {
        spec: &root_spec,
        path: root,
        vars: None,
        strict: opts.strict,
        always_decrypt: true,
    };
    match opts.render(tree, &root_job, &format!("{cluster}/root"), false) {
        Ok(r) => done.push(Done {
            unit: Unit::new("root", "", "", root, root, String::new(), r.disclosed),
            objects: r.objects,
        }),
        Err(message) => {
            errors.push(fail(format!("cluster root {root}"), root, message));
            return (Discovered::default(), errors);
        }
    }
    let mut scanned = 0;
    // Set for one round when nothing could render but Kustomizations waiting for a verify
    // Secret: then they go on without it.
    let mut settle = false;
    loop {
        // New Kustomizations and sources in what was rendered since the last round.
        for d in &done[scanned..] {
            for v in &d.objects {
                if spec::is_kustomization(v) {
                    let (namespace, name) = spec::key_of(v);
                    let file = locator
                        .locate(tree, &d.unit.path, "Kustomization", &name)
                        .unwrap_or_else(|| format!("rendered by {}", d.unit.app));
                    if let Some(first) = seen.get(&(namespace.clone(), name.clone())) {
                        errors.push(fail(
                            format!("Kustomization {namespace}/{name}"),
                            &file,
                            format!("defined twice: also in {first}\nhint: give one of them another name"),
                        ));
                        continue;
                    }
                    seen.insert((namespace.clone(), name.clone()), file);
                    pending.push(Pending {
                        namespace,
                        name,
                        value: v.clone(),
                        parent: d.unit.app.clone(),
                    });
                }
            }
        }
        scanned = done.len();
        let sources: BTreeMap<(String, String), Value> = done
            .iter()
            .flat_map(|d| d.objects.iter())
            .filter(|v| spec::source_kind(v).is_some())
            .map(|v| {
                (
                    (
                        v["kind"].as_str().unwrap_or_default().to_string(),
                        spec::key_of(v).0 + "/" + &spec::key_of(v).1,
                    ),
                    v.clone(),
                )
            })
            .collect();

        let mut ready: Vec<Ready> = Vec::new();
        let mut waiting = Vec::new();
        // OCIRepository Kustomizations waiting for the Secret of their `spec.verify`.
        let mut key_waiting: Vec<Pending> = Vec::new();
        // Bootstrap: a Kustomization that syncs the cluster root names this repository.
        let mut parsed = Vec::new();
        for p in pending.drain(..) {
            let file = seen[&(p.namespace.clone(), p.name.clone())].clone();
            let object = format!("Kustomization {}/{}", p.namespace, p.name);
            match spec::kustomization(&p.value) {
                Ok(k) => {
                    let path = normalize(k.path.as_deref().unwrap_or("")).unwrap_or_default();
                    let src_ns = k
                        .source_ref
                        .namespace
                        .clone()
                        .unwrap_or(p.namespace.clone());
                    if path == root && k.source_ref.kind == "GitRepository" {
                        this_repo.insert((src_ns.clone(), k.source_ref.name.clone()));
                    }
                    parsed.push((p, k, path, src_ns, file, object));
                }
                Err(e) => errors.push(fail(object, &file, e)),
            }
        }
        let mut bootstrap: Option<(Pending, Kustomization, String, String)> = None;
        for (p, k, path, src_ns, file, object) in parsed {
            if k.suspend {
                suspended.push(format!("{}/{}", p.namespace, p.name));
                continue;
            }
            if path == root {
                // The bootstrap Kustomization is the cluster root itself, already rendered;
                // its own settings are applied to the root below.
                done[0].unit.apply = Some(super::apply::FluxApply::of(
                    &p.namespace,
                    &p.name,
                    &p.value["spec"],
                ));
                if k.post_build.is_some()
                    || k.common_metadata.is_some()
                    || super::render::rewrites(&k)
                {
                    bootstrap = Some((p, k, file, object));
                }
                continue;
            }
            let src_id = format!("{src_ns}/{}", k.source_ref.name);
            let mut content = None;
            match k.source_ref.kind.as_str() {
                "GitRepository" => {
                    let Some(source) = sources.get(&("GitRepository".to_string(), src_id.clone()))
                    else {
                        waiting.push((p, format!("spec.sourceRef GitRepository {src_id} is not defined by anything this cluster deploys")));
                        continue;
                    };
                    let url = source["spec"]["url"].as_str().unwrap_or_default();
                    let declared = source["metadata"]["annotations"]
                        [spec::THIS_REPOSITORY_ANNOTATION]
                        == "true";
                    let by_url = opts
                        .source_urls
                        .iter()
                        .any(|u| spec::normalize_git_url(u) == spec::normalize_git_url(url));
                    if !(declared
                        || by_url
                        || this_repo.contains(&(src_ns.clone(), k.source_ref.name.clone())))
                    {
                        errors.push(fail(object, &file, format!(
                            "spec.sourceRef GitRepository {src_id} ({url}) is not this repository, and ferry builds only the repository it reads\nhint: if it is this repository, annotate the GitRepository with `{}: \"true\"` or pass `--source-url {url}`",
                            spec::THIS_REPOSITORY_ANNOTATION
                        )));
                        continue;
                    }
                    this_repo.insert((src_ns.clone(), k.source_ref.name.clone()));
                }
                "OCIRepository" => {
                    let Some(source) = sources.get(&("OCIRepository".to_string(), src_id.clone()))
                    else {
                        waiting.push((p, format!("spec.sourceRef OCIRepository {src_id} is not defined by anything this cluster deploys")));
                        continue;
                    };
                    let what = format!("spec.sourceRef OCIRepository {src_id}");
                    let origin = format!(
                        "OCIRepository {src_id} ({})",
                        declared_in(
                            &done,
                            &mut locator,
                            tree,
                            "OCIRepository",
                            &src_ns,
                            &k.source_ref.name
                        )
                    );
                    let secret = |ns: &str, name: &str| defined_v1(&done, "Secret", ns, name);
                    let src = super::oci::source_of(source, &what).and_then(|mut src| {
                        src.verify =
                            super::verify::verify_of(source, &src_ns, (&what, &origin), &secret)?;
                        Ok(src)
                    });
                    // The verify Secret may be rendered by a Kustomization not rendered yet:
                    // wait for it while anything else can render.
                    if !settle
                        && src
                            .as_ref()
                            .is_ok_and(|s| s.verify.as_ref().is_some_and(|v| v.keys.is_none()))
                    {
                        key_waiting.push(p);
                        continue;
                    }
                    let found = src.and_then(|src| {
                        oci_sources.insert(src.clone());
                        super::oci::content(&src, opts.vendored.as_deref())
                            .map_err(|m| format!("{what}: {m}"))
                    });
                    match found {
                        Ok(dir) => content = Some(dir),
                        Err(m) => {
                            errors.push(fail(object, &file, m));
                            continue;
                        }
                    }
                }
                "Bucket" => {
                    errors.push(fail(
                        object,
                        &file,
                        format!("spec.sourceRef Bucket {src_id} {}", super::oci::BUCKET),
                    ));
                    continue;
                }
                other => {
                    errors.push(fail(object, &file, format!(
                        "spec.sourceRef kind `{other}` ({src_id}) is not a Flux source ferry builds from\nhint: use a GitRepository of this repository or an OCIRepository"
                    )));
                    continue;
                }
            }
            let mut disclosed = Disclosed::default();
            let vars = match &k.post_build {
                None => None,
                Some(pb) => {
                    let lookup =
                        |kind: &str, ns: &str, name: &str| defined_v1(&done, kind, ns, name);
                    match vars::load(pb, &p.namespace, &lookup, &mut disclosed) {
                        Ok(v) => Some(v),
                        Err(VarsError::Missing(what)) => {
                            waiting.push((p, format!("postBuild.substituteFrom {what} (namespace {src_ns}) is not defined by anything this cluster deploys\nhint: add it to the repository, or mark it `optional: true`")));
                            continue;
                        }
                        Err(VarsError::Invalid(m)) => {
                            errors.push(fail(object, &file, m));
                            continue;
                        }
                    }
                }
            };
            ready.push((p, k, path, vars, disclosed, content));
        }
        if let Some((p, k, file, object)) = bootstrap {
            if let Err(m) = rerender_root(tree, (cluster, root), opts, &mut done, &p, &k, &file) {
                errors.push(fail(object, &file, m));
            }
        }
        // Nothing else renders: the Secrets those wait for are not in the repository, and
        // `ferry vendor --verify-key` gives their keys. They go on in one more round.
        let go_on = ready.is_empty() && !key_waiting.is_empty() && !settle;
        if ready.is_empty() && !go_on {
            for (p, why) in waiting {
                let file = seen[&(p.namespace.clone(), p.name.clone())].clone();
                errors.push(fail(
                    format!("Kustomization {}/{}", p.namespace, p.name),
                    &file,
                    why,
                ));
            }
            break;
        }
        settle = go_on;
        pending = waiting
            .into_iter()
            .map(|(p, _)| p)
            .chain(key_waiting)
            .collect();
        if go_on {
            continue;
        }
        use rayon::prelude::*;
        let results: Vec<Finished> = ready
            .into_par_iter()
            .map(|(p, k, path, vars, disclosed, content)| {
                // An OCIRepository's content, unpacked by `ferry vendor --flux`.
                let owned = content
                    .as_ref()
                    .map(|c| crate::source::WorkTree::open(&c.dir));
                let tree: &dyn Tree = match &owned {
                    Some(t) => t,
                    None => tree,
                };
                let job = Job {
                    spec: &k,
                    path: &path,
                    vars: vars.as_ref(),
                    strict: opts.strict,
                    always_decrypt: false,
                };
                let ident = format!("{cluster}/{}.{}", p.namespace, p.name);
                let r = opts.render(tree, &job, &ident, !disclosed.is_empty());
                // Outside this repository, the unit's path names the artifact it is in.
                let path = match &content {
                    Some(c) => format!("{}//{path}", c.label),
                    None => path,
                };
                (p, k, path, r, disclosed)
            })
            .collect();
        for (p, k, path, r, mut disclosed) in results {
            let file = seen[&(p.namespace.clone(), p.name.clone())].clone();
            let object = format!("Kustomization {}/{}", p.namespace, p.name);
            match r {
                Ok(r) => {
                    disclosed.extend(r.disclosed);
                    let mut unit = Unit::new(
                        &format!("{}.{}", p.namespace, p.name),
                        &p.namespace,
                        &p.name,
                        &file,
                        &path,
                        digest(&p.value["spec"]),
                        disclosed,
                    );
                    unit.parent = Some(p.parent.clone());
                    unit.spec = p.value["spec"].clone();
                    unit.apply = Some(super::apply::FluxApply::of(
                        &p.namespace,
                        &p.name,
                        &p.value["spec"],
                    ));
                    unit.depends_on = k
                        .depends_on
                        .iter()
                        .map(|d| {
                            format!(
                                "{}/{}",
                                d.namespace.clone().unwrap_or(p.namespace.clone()),
                                d.name
                            )
                        })
                        .collect();
                    done.push(Done {
                        unit,
                        objects: r.objects,
                    });
                }
                Err(m) => errors.push(fail(object, &file, m)),
            }
        }
    }

    let mut helm = Vec::new();
    {
        use super::helmrelease;
        let all: Vec<&Value> = done.iter().flat_map(|d| d.objects.iter()).collect();
        let lookup = |kind: &str, ns: &str, name: &str| {
            all.iter()
                .find(|v| {
                    v["kind"] == kind && spec::key_of(v) == (ns.to_string(), name.to_string())
                })
                .map(|v| (*v).clone())
        };
        let is_this =
            |ns: &str, name: &str| this_repo.contains(&(ns.to_string(), name.to_string()));
        for d in &done {
            for v in d.objects.iter().filter(|v| helmrelease::is_helmrelease(v)) {
                let (ns, name) = spec::key_of(v);
                let file = locator
                    .locate(tree, &d.unit.path, "HelmRelease", &name)
                    .unwrap_or_else(|| format!("rendered by {}", d.unit.app));
                // A value substituted from a Secret must not reach helm's values: the helm
                // render is cached and checked as an ordinary one.
                if let Some(leak) = d.unit.disclosed.find_leak(v) {
                    errors.push(fail(
                        format!("HelmRelease {ns}/{name}"),
                        &file,
                        format!("{} holds a value of {} ({}); ferry does not pass secret values to helm through a HelmRelease yet\nhint: substitute only non-secret variables into HelmReleases", leak.field, leak.origin, leak.form),
                    ));
                    continue;
                }
                match helmrelease::resolve(v, &lookup, &is_this) {
                    Ok(Some(mut unit)) => {
                        // The OCIRepository's own file, for the messages of its verification.
                        if let Some(v) = &mut unit.chart_verify {
                            let (kind, id) = v.object.split_once(' ').unwrap_or_default();
                            let (src_ns, src_name) = id.split_once('/').unwrap_or_default();
                            let at = if kind == "HelmRelease" {
                                file.clone()
                            } else {
                                declared_in(&done, &mut locator, tree, kind, src_ns, src_name)
                            };
                            v.object = format!("{} ({at})", v.object);
                        }
                        helm.push(HelmFound { unit, file })
                    }
                    Ok(None) => suspended.push(format!("HelmRelease {ns}/{name}")),
                    Err(m) => errors.push(fail(format!("HelmRelease {ns}/{name}"), &file, m)),
                }
            }
        }
    }

    // Flux's own objects that ferry carried out stay out of the output: the Kustomizations it
    // followed, the HelmReleases it renders, their chart sources, and the GitRepositories that
    // are this repository.
    let mut units = Vec::new();
    for d in done {
        let mut unit = d.unit;
        let kept: Vec<String> = d
            .objects
            .iter()
            .filter(|v| {
                let followed = spec::is_kustomization(v);
                let own_source = v["kind"] == "GitRepository"
                    && spec::source_kind(v).is_some()
                    && this_repo.contains(&spec::key_of(v));
                let chart_source = matches!(
                    spec::source_kind(v),
                    Some("HelmRepository" | "OCIRepository" | "HelmChart")
                );
                !(followed || own_source || chart_source || super::helmrelease::is_helmrelease(v))
            })
            .map(|v| {
                // `prune: false`: Flux never deletes these; neither does `ferry apply`.
                if unit.apply.as_ref().is_some_and(|a| !a.prune) {
                    let mut v = v.clone();
                    super::apply::keep_from_pruning(&mut v);
                    crate::goyaml::to_yaml(&v)
                } else {
                    crate::goyaml::to_yaml(v)
                }
            })
            .collect();
        unit.text = kept.join("---\n");
        units.push(unit);
    }
    let order = match dependency_order(&units, &suspended) {
        Ok(o) => o,
        Err(e) => {
            errors.extend(
                e.into_iter()
                    .map(|(object, file, message)| fail(object, &file, message)),
            );
            Vec::new()
        }
    };
    (
        Discovered {
            units,
            helm,
            suspended,
            order,
            oci_sources,
        },
        errors,
    )
}

/// Renders the cluster root again with the settings of the bootstrap Kustomization that
/// syncs it (`postBuild`, `commonMetadata`, `targetNamespace`, patches...). What the first
/// render found (Kustomizations, sources) stays as found.
#[allow(clippy::too_many_arguments)]
fn rerender_root(
    tree: &dyn Tree,
    (cluster, root): (&str, &str),
    opts: &Options,
    done: &mut [Done],
    p: &Pending,
    k: &Kustomization,
    file: &str,
) -> Result<(), String> {
    let mut disclosed = Disclosed::default();
    let vars = match &k.post_build {
        None => None,
        Some(pb) => {
            let lookup = |kind: &str, ns: &str, name: &str| defined_v1(done, kind, ns, name);
            match vars::load(pb, &p.namespace, &lookup, &mut disclosed) {
                Ok(v) => Some(v),
                Err(VarsError::Missing(what)) => {
                    return Err(format!("postBuild.substituteFrom {what} is not defined by the cluster root\nhint: add it to the repository, or mark it `optional: true`"))
                }
                Err(VarsError::Invalid(m)) => return Err(m),
            }
        }
    };
    let job = Job {
        spec: k,
        path: root,
        vars: vars.as_ref(),
        strict: opts.strict,
        always_decrypt: true,
    };
    let ident = format!("{cluster}/root");
    let r = opts.render(tree, &job, &ident, !disclosed.is_empty())?;
    disclosed.extend(r.disclosed);
    let first = &mut done[0];
    first.objects = r.objects;
    first.unit.disclosed = disclosed;
    first.unit.namespace = p.namespace.clone();
    first.unit.name = p.name.clone();
    first.unit.file = file.to_string();
    first.unit.spec_digest = digest(&p.value["spec"]);
    first.unit.spec = p.value["spec"].clone();
    first.unit.apply = Some(super::apply::FluxApply::of(
        &p.namespace,
        &p.name,
        &p.value["spec"],
    ));
    Ok(())
}

/// The Kustomizations in an order that respects `dependsOn` (ties by name); a dependency
/// that is not defined, or a cycle, is an error naming the Kustomization.
fn dependency_order(
    units: &[Unit],
    suspended: &[String],
) -> Result<Vec<String>, Vec<(String, String, String)>> {
    let ids: BTreeMap<String, &Unit> = units
        .iter()
        .filter(|u| !u.name.is_empty())
        .map(|u| (format!("{}/{}", u.namespace, u.name), u))
        .collect();
    let mut errors = Vec::new();
    for (id, u) in &ids {
        for d in &u.depends_on {
            if !ids.contains_key(d) && !suspended.contains(d) {
                errors.push((
                    format!("Kustomization {id}"),
                    u.file.clone(),
                    format!("spec.dependsOn: Kustomization {d} is not defined by anything this cluster deploys"),
                ));
            }
        }
    }
    let mut order = Vec::new();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while placed.len() < ids.len() {
        let next: Vec<String> = ids
            .iter()
            .filter(|(id, u)| {
                !placed.contains(*id)
                    && u.depends_on
                        .iter()
                        .all(|d| placed.contains(d) || !ids.contains_key(d))
            })
            .map(|(id, _)| id.clone())
            .collect();
        if next.is_empty() {
            let rest: Vec<String> = ids
                .keys()
                .filter(|id| !placed.contains(*id))
                .cloned()
                .collect();
            for id in &rest {
                errors.push((
                    format!("Kustomization {id}"),
                    ids[id].file.clone(),
                    format!(
                        "spec.dependsOn forms a cycle among {}\nhint: remove one of the dependencies",
                        rest.join(", ")
                    ),
                ));
            }
            break;
        }
        placed.extend(next.iter().cloned());
        order.extend(next);
    }
    if errors.is_empty() {
        Ok(order)
    } else {
        Err(errors)
    }
}

/// The core (`v1`) object of that kind and name that something rendered so far defines: where
/// `postBuild.substituteFrom` finds its ConfigMaps and Secrets.
/// The repository file that declares `kind` `ns/name` among the rendered objects, else which
/// unit rendered it.
fn declared_in(
    done: &[Done],
    locator: &mut Locator,
    tree: &dyn Tree,
    kind: &str,
    ns: &str,
    name: &str,
) -> String {
    let Some(d) = done.iter().find(|d| {
        d.objects
            .iter()
            .any(|v| v["kind"] == kind && spec::key_of(v) == (ns.to_string(), name.to_string()))
    }) else {
        return "not found".into();
    };
    locator
        .locate(tree, &d.unit.path, kind, name)
        .unwrap_or_else(|| format!("rendered by {}", d.unit.app))
}

fn defined_v1(done: &[Done], kind: &str, ns: &str, name: &str) -> Option<Value> {
    done.iter()
        .flat_map(|d| d.objects.iter())
        .find(|v| {
            v["kind"] == kind
                && v["apiVersion"] == "v1"
                && spec::key_of(v) == (ns.to_string(), name.to_string())
        })
        .cloned()
}
