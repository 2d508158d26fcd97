//! Writing an `out/<env>` directory as `ferry build` does: one file per object plus `index.json`.

use ferry::build::{Index, IndexApp, IndexObject, IndexSource, INDEX_FILE};
use ferry::manifest::{to_yaml, Object};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

pub fn write_artifact(dir: &Path, env: &str, objects: &[Value]) {
    write_tenant_artifact(dir, env, &[("app", None, objects)], &[]);
}

/// One app's objects in an artifact: its name, its tenant, its objects.
pub type AppObjects<'a> = (&'a str, Option<&'a str>, &'a [Value]);

/// An artifact of several apps, some of them tenants', with the tenants' identities
/// (`(tenant, serviceAccount NS/NAME, namespaces)`) in `index.json` as `ferry build` records them.
pub fn write_tenant_artifact(
    dir: &Path,
    env: &str,
    apps: &[AppObjects<'_>],
    tenants: &[(&str, &str, &[&str])],
) {
    let mut index_apps = BTreeMap::new();
    for (app, tenant, objects) in apps {
        std::fs::create_dir_all(dir.join(app)).expect("mkdir");
        let mut entries = Vec::new();
        for v in *objects {
            let o = Object::from_value(v.clone()).expect("valid object");
            let name = ferry::build::object_file_name(&o);
            let text = to_yaml(o.value());
            std::fs::write(dir.join(app).join(&name), &text).expect("write");
            entries.push(IndexObject {
                api_version: o.api_version().into(),
                kind: o.kind().into(),
                namespace: o.namespace().map(str::to_string),
                name: o.name().into(),
                path: format!("{app}/{name}"),
                digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
            });
        }
        index_apps.insert(
            app.to_string(),
            IndexApp {
                renderer: "plain".into(),
                namespace: None,
                input_digest: "sha256:00".into(),
                inputs: BTreeMap::new(),
                objects: entries,
                tenant: tenant.map(str::to_string),
                flux: None,
            },
        );
    }
    let index = Index {
        api_version: "ferry.dev/v1alpha1".into(),
        kind: "BuildIndex".into(),
        environment: env.into(),
        build_digest: String::new(),
        content_digest: String::new(),
        source: IndexSource {
            revision: Some("main@sha1:0000000000000000000000000000000000000001".into()),
            commit: None,
            branch: Some("main".into()),
            created: None,
            worktree: false,
        },
        apps: index_apps,
        tenants: tenants
            .iter()
            .map(|(name, sa, namespaces)| {
                (
                    name.to_string(),
                    ferry::tenancy::TenantIdentity {
                        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
                        service_account: sa.to_string(),
                    },
                )
            })
            .collect(),
    };
    std::fs::write(
        dir.join(INDEX_FILE),
        serde_json::to_string_pretty(&index).expect("json"),
    )
    .expect("write index");
}

/// A Secret sealed with ferry's SOPS implementation for a fresh identity, as `ferry build`
/// writes it; the returned path is the identity file.
pub fn sealed_secret(dir: &Path, password: &str) -> (Value, std::path::PathBuf) {
    use ferry::secrets::{encrypt, EncryptOptions, Format, Recipient};
    let key = dir.join("age.key");
    let recipient = ferry::secrets::identity::write_new(&key).expect("identity");
    let plain = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\ndata:\n  password: {password}\n"
    );
    let opts = EncryptOptions {
        recipients: vec![Recipient::parse(&recipient).expect("recipient")],
        selectors: ferry::secrets::seal::kubernetes_selectors(),
        mac_only_encrypted: false,
        allow_empty: false,
    };
    let text = encrypt(&plain, Format::Yaml, &opts).expect("encrypts");
    let value: Value = serde_yaml_ng::from_str(&text).expect("yaml");
    (value, key)
}
