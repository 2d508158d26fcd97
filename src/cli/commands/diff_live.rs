//! `ferry diff --against live ENV...|DIR...`: each environment's build (given as `out/<env>`
//! directories, or built from `--to`/HEAD or the working tree) against the live cluster, like
//! `kubectl diff`: every object sent with `dryRun=All`, sealed Secrets opened in memory first.

use super::diff::build_revision;
use super::repo_root;
use crate::apply::live::{dry_run, LiveOptions, LiveState};
use crate::apply::source::{is_sealed, unseal};
use crate::apply::tenants::tenant_inventory;
use crate::apply::Impersonate;
use crate::apply::{ApplyOptions, Decryptor, ParentKind};
use crate::cli::args::{DiffArgs, GlobalArgs, InventoryKind};
use crate::diff::secrets::SecretPolicy;
use crate::diff::{self, Build, DiffOptions, EnvDiff, SecretContext};
use crate::manifest::Object;
use crate::secrets::open::InMemory;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::Path;

/// A build directory rather than an environment name: it holds an index, or is written as a path.
fn is_dir_arg(arg: &str) -> bool {
    arg.contains('/') || Path::new(arg).join(crate::build::INDEX_FILE).is_file()
}

pub(super) fn against_live(
    g: &GlobalArgs,
    a: &DiffArgs,
    opts: &DiffOptions,
    secrets: SecretContext<'_>,
) -> anyhow::Result<Vec<EnvDiff>> {
    if g.offline {
        bail!("ferry diff --against live talks to a cluster, and --offline (or FERRY_OFFLINE) forbids every network access\nhint: unset FERRY_OFFLINE for this command, or compare builds offline: ferry diff --from REV");
    }
    if a.args.is_empty() {
        // A cluster runs one environment: comparing it with every environment would mostly
        // show another environment's objects as changes.
        bail!("ferry diff --against live needs the environment(s) this cluster runs, or their build directories\nhint: ferry diff --against live prod, or ferry diff --against live out/prod");
    }
    let dirs = a.args.iter().filter(|s| is_dir_arg(s)).count();
    let scratch = tempfile::Builder::new()
        .prefix("ferry-diff-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    // Tenant rule violations of the build made here (a directory given was built without any).
    let mut violations = Vec::new();
    let mut tenants = std::collections::BTreeSet::new();
    let builds: Vec<Build> = if dirs == a.args.len() {
        a.args
            .iter()
            .map(|d| diff::load_dir(Path::new(d)))
            .collect::<Result<_, _>>()?
    } else if dirs == 0 {
        let root = repo_root(&g.repo);
        let rev = (!a.worktree).then(|| a.to.as_deref().unwrap_or("HEAD"));
        let built = build_revision(g, a, &root, rev, &scratch.path().join("new"))?;
        violations = built.violations.clone();
        tenants = built.tenants.clone();
        a.args
            .iter()
            .map(|env| {
                if !built.envs.contains(env) {
                    bail!("ferry.yaml has no environment {env:?} (in {})\nhint: name an environment of ferry.yaml, or pass its out/<env> directory", rev.unwrap_or("the working tree"));
                }
                Ok(diff::load_dir(&built.out.join(env))?)
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        bail!("ferry diff --against live takes either environment names or out/<env> directories, not both");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let live = &a.live;
    let config = runtime.block_on(super::apply::config(
        live.kubeconfig.as_deref(),
        live.kube_context.as_deref(),
    ))?;
    // The client's connection pool is spawned on the runtime.
    let client = runtime
        .block_on(async { kube::Client::try_from(config.clone()) })
        .context("cannot create the Kubernetes client")?;
    let live_opts = LiveOptions {
        field_manager: live.field_manager.clone(),
        parent_kind: match live.inventory_kind {
            InventoryKind::Secret => ParentKind::Secret,
            InventoryKind::Configmap => ParentKind::ConfigMap,
        },
        inventory_namespace: live.inventory_namespace.clone(),
        inventory_name: live.inventory_name.clone(),
        concurrency: ApplyOptions::default().concurrency,
        secret_kinds: opts.secret_kinds.clone(),
    };
    builds
        .iter()
        .map(|build| {
            let owned = objects_of(a, build, opts)?;
            let state = runtime
                .block_on(dry_run_owned(&client, &config, build, owned, &live_opts))
                .with_context(|| {
                    format!(
                        "environment {}: comparing with the cluster",
                        build.environment
                    )
                })?;
            if !g.quiet {
                for n in &state.notes {
                    eprintln!("note: {n}");
                }
            }
            let (old, new) = diff::live::live_sides(build, &state);
            let mut d = diff::compare(&old, &new, opts, secrets)?;
            d.violations = violations
                .iter()
                .filter(|v| v.env == build.environment)
                .cloned()
                .collect();
            d.tenants.extend(tenants.iter().cloned());
            Ok(d)
        })
        .collect()
}

/// The platform's objects dry-run with the caller's rights into the platform's set; each
/// tenant's as the tenant (impersonated, as `ferry apply` sends them) into the tenant's own set,
/// so RBAC answers as it will and the set's member label and removed members are the tenant's.
async fn dry_run_owned(
    client: &kube::Client,
    config: &kube::Config,
    build: &Build,
    owned: Owned,
    opts: &LiveOptions,
) -> anyhow::Result<LiveState> {
    let mut state = LiveState::default();
    for (tenant, objects) in owned {
        let Some(tenant) = tenant else {
            let s = dry_run(client, &build.environment, objects, opts).await?;
            state.applied_revision = s.applied_revision.clone();
            merge(&mut state, s, None);
            continue;
        };
        let identity = build.tenants.get(&tenant).with_context(|| {
            format!("index.json: tenant `{tenant}` has apps but no entry under `tenants`")
        })?;
        let (namespace, name) = tenant_inventory(
            opts.inventory_name.as_deref(),
            &build.environment,
            &tenant,
            identity,
        );
        let tenant_opts = LiveOptions {
            inventory_namespace: namespace,
            inventory_name: Some(name),
            ..opts.clone()
        };
        let as_tenant = config.client_as(identity).map_err(anyhow::Error::msg)?;
        let s = dry_run(&as_tenant, &build.environment, objects, &tenant_opts)
            .await
            .with_context(|| format!("tenant `{tenant}` (as {})", identity.user()))?;
        merge(&mut state, s, Some(tenant));
    }
    Ok(state)
}

fn merge(all: &mut LiveState, s: LiveState, tenant: Option<String>) {
    all.objects.extend(s.objects);
    all.removed.extend(s.removed.into_iter().map(|mut r| {
        r.tenant = tenant.clone();
        r
    }));
    all.notes.extend(match &tenant {
        Some(t) => s
            .notes
            .into_iter()
            .map(|n| format!("tenant {t}: {n}"))
            .collect(),
        None => s.notes,
    });
}

/// A build's objects by owner: `None` the platform's, else the tenant's name.
type Owned = BTreeMap<Option<String>, Vec<Object>>;

/// The build's objects as `ferry apply` would send them: parsed, sealed ones opened in memory
/// (a tenant's with the platform's identity or, failing that, the tenant's own).
fn objects_of(a: &DiffArgs, build: &Build, opts: &DiffOptions) -> anyhow::Result<Owned> {
    let policy = SecretPolicy::new(&opts.secret_kinds);
    let mut owned: Owned = BTreeMap::new();
    for (r, e) in &build.objects {
        let secret = policy.is_secret_kind(r) || e.bytes.windows(6).any(|w| w == b"\nsops:");
        let v = e.parse(build, r, secret)?;
        // `parse` checked it is an object with this identity.
        owned
            .entry(e.tenant.clone())
            .or_default()
            .push(Object::from_value(v)?);
    }
    if !owned.values().flatten().any(is_sealed) {
        return Ok(owned);
    }
    // Identities are read only when something is sealed: a plain build needs none.
    let ids = InMemory::load(a.identity.as_deref())?;
    let platform = (!ids.is_empty()).then_some(&ids as &dyn Decryptor);
    let mut opened = Owned::new();
    for (tenant, objs) in owned {
        let Some(tenant) = tenant else {
            opened.insert(None, unseal(objs, platform)?);
            continue;
        };
        let given = a.tenant_identities.iter().find(|(t, _)| *t == tenant);
        let own = given
            .map(|(_, file)| {
                InMemory::load(Some(file))
                    .with_context(|| format!("--tenant-identity {tenant}={}", file.display()))
            })
            .transpose()?;
        let chain = FirstThatOpens(
            own.iter()
                .map(|i| i as &dyn Decryptor)
                .chain(platform)
                .collect(),
        );
        let open = unseal(objs, Some(&chain));
        match open {
            Ok(o) => {
                opened.insert(Some(tenant), o);
            }
            Err(e) if given.is_none() => bail!(
                "{e}\nhint: it is tenant `{tenant}`'s; pass its identity: --tenant-identity {tenant}=FILE"
            ),
            Err(e) => bail!("tenant `{tenant}`: {e}"),
        }
    }
    Ok(opened)
}

/// Tries each decryptor in turn: a tenant's own identity, then the platform's.
struct FirstThatOpens<'a>(Vec<&'a dyn Decryptor>);

impl Decryptor for FirstThatOpens<'_> {
    fn decrypt(&self, object: &Object) -> Result<Object, String> {
        let mut last = "no decryption identity is configured".to_string();
        for d in &self.0 {
            match d.decrypt(object) {
                Ok(o) => return Ok(o),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}
