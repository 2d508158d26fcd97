//! `ferry tenant create` and `ferry tenant list`.

use super::repo_root;
use crate::cli::args::{GlobalArgs, OutputFormat};
use crate::cli::tenant_args::{TenantCommand, TenantCreateArgs, TenantListArgs};
use crate::cli::ExitCode;
use crate::config::{self, Pipeline, FILE_NAME};
use crate::tenancy::onboard::NewTenant;
use anyhow::Context;
use std::io::Write;
use std::path::{Component, Path};

pub fn run(g: &GlobalArgs, c: TenantCommand) -> anyhow::Result<ExitCode> {
    match c {
        TenantCommand::Create(a) => create(g, a),
        TenantCommand::List(a) => list(g, a),
    }
}

fn read_pipeline(root: &Path) -> anyhow::Result<(std::path::PathBuf, String, Pipeline)> {
    let file = root.join(FILE_NAME);
    let text = std::fs::read_to_string(&file).map_err(|e| config::ConfigError::Read {
        file: file.clone(),
        source: e,
    })?;
    let pipeline = config::parse(&file, &text)?;
    Ok((file, text, pipeline))
}

/// A repository-relative directory that stays inside the repository.
fn check_dir(dir: &str) -> anyhow::Result<()> {
    let p = Path::new(dir);
    if dir.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
    {
        anyhow::bail!("--dir `{dir}`: give a path relative to the pipeline root, without `..`");
    }
    Ok(())
}

fn create(g: &GlobalArgs, a: TenantCreateArgs) -> anyhow::Result<ExitCode> {
    let root = repo_root(&g.repo);
    let (file, text, old) = read_pipeline(&root)?;
    let nt = NewTenant {
        name: a.name.clone(),
        namespaces: a.namespaces.clone(),
        service_account: a.service_account.clone(),
        cluster_role: a.cluster_role.clone(),
        apps: a.apps.clone(),
        dir: a
            .dir
            .clone()
            .unwrap_or_else(|| format!("tenants/{}", a.name)),
        agent: a.agent.clone(),
        recipients: a.recipients.clone(),
    };
    if let Some(agent) = &nt.agent {
        let ok = agent
            .split_once('/')
            .is_some_and(|(ns, n)| !ns.is_empty() && !n.is_empty() && !n.contains('/'));
        if !ok {
            anyhow::bail!("--agent `{agent}`: give the agent's ServiceAccount as NAMESPACE/NAME, e.g. ferry-system/ferry");
        }
    }
    if old.tenants.contains_key(&nt.name) {
        anyhow::bail!(
            "{}: tenant `{}` exists already\nhint: `ferry tenant list` shows the tenants",
            file.display(),
            nt.name
        );
    }
    if old.apps.contains_key(&nt.app_name()) {
        anyhow::bail!(
            "{}: an app named `{}` exists already; it is the name of the new tenant's manifests app\nhint: rename that app, or choose another tenant name",
            file.display(),
            nt.app_name()
        );
    }
    check_dir(&nt.dir)?;
    let manifest_dir = root.join(&nt.dir);
    if manifest_dir.exists() {
        anyhow::bail!(
            "{} exists already; nothing written\nhint: pass --dir to write the manifests elsewhere",
            manifest_dir.display()
        );
    }
    let new_text = nt.add_to_pipeline(&text)?;
    // The full validation of the edited file: names, namespaces, apps of the tenant.
    let new = config::parse(&file, &new_text).map_err(|e| {
        anyhow::anyhow!("the new tenant would make ferry.yaml invalid; nothing written:\n{e}")
    })?;
    // The edit may only add the two entries: everything else must read back as it was.
    let mut readback = serde_json::to_value(&new)?;
    if let Some(m) = readback["tenants"].as_object_mut() {
        m.remove(&nt.name);
        if m.is_empty() {
            readback.as_object_mut().map(|o| o.remove("tenants"));
        }
    }
    readback["apps"]
        .as_object_mut()
        .map(|m| m.remove(&nt.app_name()));
    if readback != serde_json::to_value(&old)? {
        anyhow::bail!(
            "{}: adding the tenant to the text would change more than its entries; nothing written\nhint: add `tenants.{}` and `apps.{}` by hand",
            file.display(),
            nt.name,
            nt.app_name()
        );
    }
    let manifests = nt.manifests();
    if a.dry_run {
        let mut out = crate::cli::stdout::stdout();
        writeln!(out, "# {}/tenant.yaml\n{manifests}", nt.dir)?;
        writeln!(out, "# {FILE_NAME}\n{new_text}")?;
        return Ok(ExitCode::Success);
    }
    std::fs::create_dir_all(&manifest_dir)
        .with_context(|| format!("cannot create {}", manifest_dir.display()))?;
    let written = write_atomically(&manifest_dir.join("tenant.yaml"), &manifests)
        .and_then(|()| write_atomically(&file, &new_text));
    if let Err(e) = written {
        // ferry.yaml is untouched (it is written last and atomically): take the manifests back.
        let _ = std::fs::remove_dir_all(&manifest_dir);
        return Err(e);
    }
    if !g.quiet {
        eprintln!(
            "tenant {}: wrote {}/tenant.yaml ({} namespace(s), ServiceAccount {}/{}, ClusterRole {} in each); {FILE_NAME}: added tenants.{} and the platform app apps.{}\nnext: `ferry build`, then `ferry apply` applies the tenant's apps as system:serviceaccount:{}:{}",
            nt.name,
            nt.dir,
            nt.namespaces.len(),
            nt.namespaces[0],
            nt.service_account,
            nt.cluster_role,
            nt.name,
            nt.app_name(),
            nt.namespaces[0],
            nt.service_account,
        );
    }
    Ok(ExitCode::Success)
}

/// Writes through a temporary file beside `path`, renamed over it: never half a file.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

fn list(g: &GlobalArgs, a: TenantListArgs) -> anyhow::Result<ExitCode> {
    let (_, _, p) = read_pipeline(&repo_root(&g.repo))?;
    let rows: Vec<serde_json::Value> = p
        .tenants
        .iter()
        .map(|(name, t)| {
            let (ns, sa) = t.service_account();
            serde_json::json!({
                "name": name,
                "namespaces": t.namespaces,
                "serviceAccount": format!("{ns}/{sa}"),
                "apps": t.apps,
                "allowClusterScoped": t.allow_cluster_scoped,
                "allowClusterRoles": t.allow_cluster_roles,
                "recipients": t.recipients,
            })
        })
        .collect();
    let mut out = crate::cli::stdout::stdout();
    match a.output {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let join = |v: &serde_json::Value| {
                let items: Vec<&str> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str())
                    .collect();
                if items.is_empty() {
                    "-".to_string()
                } else {
                    items.join(",")
                }
            };
            let table: Vec<[String; 6]> = rows
                .iter()
                .map(|r| {
                    [
                        r["name"].as_str().unwrap_or_default().to_string(),
                        join(&r["namespaces"]),
                        r["serviceAccount"].as_str().unwrap_or_default().to_string(),
                        join(&r["apps"]),
                        join(&r["allowClusterScoped"]),
                        join(&r["allowClusterRoles"]),
                    ]
                })
                .collect();
            let head = [
                "NAME",
                "NAMESPACES",
                "SERVICEACCOUNT",
                "APPS",
                "CLUSTER-SCOPED",
                "CLUSTER-ROLES",
            ];
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for r in &table {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.len());
                }
            }
            let line = |cells: Vec<&str>| {
                let mut s = String::new();
                for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                    if i + 1 == cells.len() {
                        s.push_str(c);
                    } else {
                        s.push_str(&format!("{c:<w$}  "));
                    }
                }
                s
            };
            writeln!(out, "{}", line(head.to_vec()))?;
            for r in &table {
                writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
            }
            if table.is_empty() && !g.quiet {
                eprintln!("no tenants in {FILE_NAME}: every app is the platform's\nhint: `ferry tenant create NAME --namespace NS` onboards one");
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::Success)
}
