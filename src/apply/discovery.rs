//! Which API resource serves an object's kind, and in which scope: asked of the API server
//! once per group-version and cached for the run.

use kube::core::ApiResource;
use kube::Client;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A kind the server serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("discovery of {what} failed: {message}")]
    Api { what: String, message: String },
}

#[derive(Debug, Clone)]
struct Served {
    kind: String,
    plural: String,
    namespaced: bool,
}

/// `None` in the cache: the group-version is not served (404), remembered until forgotten.
type Table = Option<Arc<Vec<Served>>>;

/// Discovery cached per run. Cheap to share by reference between concurrent tasks.
pub struct Discovery {
    client: Client,
    versions: Mutex<HashMap<String, Table>>,
    preferred: Mutex<HashMap<String, Option<String>>>,
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl Discovery {
    pub fn new(client: Client) -> Discovery {
        Discovery {
            client,
            versions: Mutex::new(HashMap::new()),
            preferred: Mutex::new(HashMap::new()),
        }
    }

    async fn table(&self, api_version: &str) -> Result<Table, DiscoveryError> {
        if let Some(t) = self
            .versions
            .lock()
            .expect("discovery cache lock")
            .get(api_version)
        {
            return Ok(t.clone());
        }
        let url = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let req = http::Request::get(&url)
            .body(Vec::new())
            .map_err(|e| DiscoveryError::Api {
                what: api_version.to_string(),
                message: e.to_string(),
            })?;
        let table = match self.client.request::<Value>(req).await {
            Ok(list) => Some(Arc::new(parse_resource_list(&list))),
            Err(e) if is_not_found(&e) => None,
            Err(e) => {
                return Err(DiscoveryError::Api {
                    what: api_version.to_string(),
                    message: e.to_string(),
                })
            }
        };
        self.versions
            .lock()
            .expect("discovery cache lock")
            .insert(api_version.to_string(), table.clone());
        Ok(table)
    }

    /// The resource for `apiVersion` + `kind`, or `None` when the server does not serve it.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, DiscoveryError> {
        let Some(table) = self.table(api_version).await? else {
            return Ok(None);
        };
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Ok(table.iter().find(|s| s.kind == kind).map(|s| Resolved {
            resource: ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                plural: s.plural.clone(),
            },
            namespaced: s.namespaced,
        }))
    }

    /// The resource for a group-kind at the group's preferred version (for kinds only the
    /// inventory remembers), or `None` when the group or kind is no longer served.
    pub async fn resolve_group_kind(
        &self,
        group: &str,
        kind: &str,
    ) -> Result<Option<Resolved>, DiscoveryError> {
        if group.is_empty() {
            return self.resolve("v1", kind).await;
        }
        let cached = self
            .preferred
            .lock()
            .expect("discovery cache lock")
            .get(group)
            .cloned();
        let preferred = match cached {
            Some(p) => p,
            None => {
                let req = http::Request::get(format!("/apis/{group}"))
                    .body(Vec::new())
                    .map_err(|e| DiscoveryError::Api {
                        what: group.to_string(),
                        message: e.to_string(),
                    })?;
                let p = match self.client.request::<Value>(req).await {
                    Ok(g) => g["preferredVersion"]["groupVersion"]
                        .as_str()
                        .or_else(|| g["versions"][0]["groupVersion"].as_str())
                        .map(str::to_string),
                    Err(e) if is_not_found(&e) => None,
                    Err(e) => {
                        return Err(DiscoveryError::Api {
                            what: group.to_string(),
                            message: e.to_string(),
                        })
                    }
                };
                self.preferred
                    .lock()
                    .expect("discovery cache lock")
                    .insert(group.to_string(), p.clone());
                p
            }
        };
        match preferred {
            Some(gv) => self.resolve(&gv, kind).await,
            None => Ok(None),
        }
    }

    /// Forgets what is known about a group, e.g. after its CRD became established.
    pub fn forget_group(&self, group: &str) {
        let prefix = format!("{group}/");
        self.versions
            .lock()
            .expect("discovery cache lock")
            .retain(|gv, _| !gv.starts_with(&prefix));
        self.preferred
            .lock()
            .expect("discovery cache lock")
            .remove(group);
    }
}

fn parse_resource_list(list: &Value) -> Vec<Served> {
    list["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    let plural = r["name"].as_str()?;
                    // `deployments/status` and friends are subresources, not kinds.
                    if plural.contains('/') {
                        return None;
                    }
                    Some(Served {
                        kind: r["kind"].as_str()?.to_string(),
                        plural: plural.to_string(),
                        namespaced: r["namespaced"].as_bool().unwrap_or(false),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subresources_are_not_kinds() {
        let list = json!({"groupVersion": "apps/v1", "resources": [
            {"name": "deployments", "kind": "Deployment", "namespaced": true, "verbs": []},
            {"name": "deployments/status", "kind": "Deployment", "namespaced": true, "verbs": []},
        ]});
        let served = parse_resource_list(&list);
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].plural, "deployments");
        assert!(served[0].namespaced);
    }
}
