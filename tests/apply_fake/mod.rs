//! An in-memory Kubernetes API server behind kube-rs's mock service (`tower-test`): enough of
//! discovery, GET, LIST, server-side-apply PATCH and DELETE for the apply engine, recording
//! every request so tests can assert exactly what was sent.
#![allow(dead_code)]

pub mod artifact;
pub mod server;

use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub body: Option<Value>,
    /// `Impersonate-User`, when the client acted as someone else.
    pub impersonate_user: Option<String>,
    /// Every `Impersonate-Group`, in order.
    pub impersonate_groups: Vec<String>,
}

impl Recorded {
    /// The object's name for object requests (last path segment).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
pub struct KindDef {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

type Key = (String, String, String, String); // group, plural, namespace, name

#[derive(Default)]
pub struct State {
    pub kinds: Vec<KindDef>,
    pub objects: BTreeMap<Key, Value>,
    pub requests: Vec<Recorded>,
    /// Names whose apply the server rejects (422).
    pub reject: BTreeSet<String>,
    /// Names on which another manager owns a field: `(manager, field)`.
    pub conflicts: BTreeMap<String, (String, String)>,
    /// Plurals whose LIST fails (500).
    pub failing_lists: BTreeSet<String>,
    /// CRDs are Established as soon as they are stored (a controller-manager would do that).
    pub crds_never_establish: bool,
    /// Delay before answering a PATCH, to see how many are in flight at once.
    pub patch_delay: Option<std::time::Duration>,
    pub patches_in_flight: usize,
    pub max_patches_in_flight: usize,
    /// A stand-in for RBAC: an impersonated user listed here may only touch these namespaces
    /// (and discovery); anything else is answered 403 in the API server's words.
    pub allowed_namespaces: BTreeMap<String, BTreeSet<String>>,
    /// Objects deleted, with the resourceVersion of the deletion, for watches.
    pub tombstones: Vec<(u64, Value)>,
    rv: u64,
}

fn kind(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> KindDef {
    KindDef {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        namespaced,
    }
}

impl State {
    pub fn builtin() -> State {
        State {
            kinds: vec![
                kind("", "v1", "Namespace", "namespaces", false),
                kind("", "v1", "ConfigMap", "configmaps", true),
                kind("", "v1", "Secret", "secrets", true),
                kind("", "v1", "Service", "services", true),
                kind("", "v1", "ServiceAccount", "serviceaccounts", true),
                kind(
                    "",
                    "v1",
                    "PersistentVolumeClaim",
                    "persistentvolumeclaims",
                    true,
                ),
                kind("apps", "v1", "Deployment", "deployments", true),
                kind("apps", "v1", "StatefulSet", "statefulsets", true),
                kind("batch", "v1", "Job", "jobs", true),
                kind(
                    "autoscaling",
                    "v2",
                    "HorizontalPodAutoscaler",
                    "horizontalpodautoscalers",
                    true,
                ),
                kind(
                    "policy",
                    "v1",
                    "PodDisruptionBudget",
                    "poddisruptionbudgets",
                    true,
                ),
                kind(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRole",
                    "clusterroles",
                    false,
                ),
                kind(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "ClusterRoleBinding",
                    "clusterrolebindings",
                    false,
                ),
                kind("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
                kind(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "RoleBinding",
                    "rolebindings",
                    true,
                ),
                kind(
                    "apiextensions.k8s.io",
                    "v1",
                    "CustomResourceDefinition",
                    "customresourcedefinitions",
                    false,
                ),
                kind(
                    "admissionregistration.k8s.io",
                    "v1",
                    "ValidatingWebhookConfiguration",
                    "validatingwebhookconfigurations",
                    false,
                ),
                kind("coordination.k8s.io", "v1", "Lease", "leases", true),
            ],
            ..State::default()
        }
    }

    fn def_by_plural(&self, group: &str, version: &str, plural: &str) -> Option<KindDef> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
    }

    /// Live object by `(group, plural, namespace, name)`.
    pub fn get(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(group.into(), plural.into(), ns.into(), name.into()))
    }

    pub fn get_mut(
        &mut self,
        group: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Option<&mut Value> {
        self.objects
            .get_mut(&(group.into(), plural.into(), ns.into(), name.into()))
    }

    /// Puts an object in place as if someone else had created it.
    pub fn put(&mut self, group: &str, plural: &str, ns: &str, value: Value) {
        let name = value["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.objects
            .insert((group.into(), plural.into(), ns.into(), name), value);
    }

    pub fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }
}

/// The server: a handle on its state, and a client talking to it.
pub struct Fake {
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    pub fn new() -> (Fake, kube::Client) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let state = Arc::new(Mutex::new(State::builtin()));
        let st = state.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let response = serve(&st, request).await;
                    respond.send_response(response);
                });
            }
        });
        (Fake { state }, kube::Client::new(service, "default"))
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().expect("state").requests.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().expect("state").requests.clear();
    }

    /// Requests with this method, in order.
    pub fn with_method(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }
}

pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(code: StatusCode, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).expect("json")))
        .expect("response")
}

fn status(code: u16, reason: &str, message: &str, causes: Value) -> Response<Body> {
    respond(
        StatusCode::from_u16(code).expect("code"),
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
               "reason": reason, "message": message, "details": {"causes": causes}}),
    )
}

const SERVER_FIELDS: [&str; 5] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
];

fn user_part(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        for f in SERVER_FIELDS {
            m.remove(f);
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    v
}

/// The 403 a real API server gives `user` for this request under [`State::allowed_namespaces`],
/// or `None` when it is allowed (discovery always is).
fn forbidden(st: &State, user: &str, method: &str, path: &str) -> Option<Response<Body>> {
    let allowed = st.allowed_namespaces.get(user)?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest): (&str, &[&str]) = match segs.as_slice() {
        ["api", _, rest @ ..] => ("", rest),
        ["apis", g, _, rest @ ..] => (g, rest),
        _ => return None,
    };
    let (ns, plural, name) = match rest {
        [] => return None,
        ["namespaces", ns] => (Some(*ns), "namespaces", Some(*ns)),
        ["namespaces", ns, plural, tail @ ..] => (Some(*ns), *plural, tail.first().copied()),
        [plural, tail @ ..] => (None, *plural, tail.first().copied()),
    };
    if ns.is_some_and(|n| allowed.contains(n)) {
        return None;
    }
    let verb = match (method, name) {
        ("GET", None) => "list",
        ("GET", Some(_)) => "get",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        _ => "access",
    };
    let what = match name {
        Some(n) => format!("{plural} \"{n}\" is forbidden"),
        None => format!("{plural} is forbidden"),
    };
    let place = match ns {
        Some(n) => format!("in the namespace \"{n}\""),
        None => "at the cluster scope".to_string(),
    };
    Some(status(
        403,
        "Forbidden",
        &format!("{what}: User \"{user}\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {place}"),
        json!([]),
    ))
}

pub async fn serve(state: &Arc<Mutex<State>>, req: Request<Body>) -> Response<Body> {
    let delay = state.lock().expect("state").patch_delay;
    if let (Some(d), true) = (delay, req.method() == http::Method::PATCH) {
        {
            let mut st = state.lock().expect("state");
            st.patches_in_flight += 1;
            st.max_patches_in_flight = st.max_patches_in_flight.max(st.patches_in_flight);
        }
        tokio::time::sleep(d).await;
        state.lock().expect("state").patches_in_flight -= 1;
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let impersonate_user = req
        .headers()
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let impersonate_groups: Vec<String> = req
        .headers()
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes).ok()
    };
    let mut st = state.lock().expect("state");
    st.requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        content_type,
        body: body.clone(),
        impersonate_user: impersonate_user.clone(),
        impersonate_groups,
    });
    if let Some(denied) = impersonate_user
        .as_deref()
        .and_then(|u| forbidden(&st, u, &method, &path))
    {
        return denied;
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest): (String, String, Vec<&str>) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest.to_vec()),
        ["apis", g] => {
            let versions: BTreeSet<String> = st
                .kinds
                .iter()
                .filter(|k| k.group == *g)
                .map(|k| k.version.clone())
                .collect();
            let Some(v) = versions.iter().next() else {
                return status(404, "NotFound", "group not found", json!([]));
            };
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            return respond(
                StatusCode::OK,
                json!({"kind": "APIGroup", "name": g, "versions": [gv.clone()], "preferredVersion": gv}),
            );
        }
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest.to_vec()),
        _ => return status(404, "NotFound", "unknown path", json!([])),
    };
    if rest.is_empty() {
        let resources: Vec<Value> = st
            .kinds
            .iter()
            .filter(|k| k.group == group && k.version == version)
            .map(|k| json!({"name": k.plural, "kind": k.kind, "namespaced": k.namespaced, "singularName": "", "verbs": ["get", "list", "patch", "delete"]}))
            .collect();
        if resources.is_empty() {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
                json!([]),
            );
        }
        let gv = if group.is_empty() {
            version.clone()
        } else {
            format!("{group}/{version}")
        };
        return respond(
            StatusCode::OK,
            json!({"kind": "APIResourceList", "groupVersion": gv, "resources": resources}),
        );
    }
    // [namespaces, ns, plural, name?] or [plural, name?]
    let (ns, plural, name) = match rest.as_slice() {
        ["namespaces", ns, plural, tail @ ..] => (
            ns.to_string(),
            plural.to_string(),
            tail.first().map(|s| s.to_string()),
        ),
        [plural, tail @ ..] => (
            String::new(),
            plural.to_string(),
            tail.first().map(|s| s.to_string()),
        ),
        [] => unreachable!(),
    };
    let Some(def) = st.def_by_plural(&group, &version, &plural) else {
        return status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource ({plural})"),
            json!([]),
        );
    };
    let key = (
        group.clone(),
        plural.clone(),
        ns.clone(),
        name.clone().unwrap_or_default(),
    );
    let dry = query.get("dryRun").map(String::as_str) == Some("All");
    match (method.as_str(), name) {
        ("GET", None) => {
            if st.failing_lists.contains(&plural) {
                return status(500, "InternalError", "etcd is sad", json!([]));
            }
            let selector = query.get("labelSelector").cloned().unwrap_or_default();
            let (lk, lv) = selector.split_once('=').unwrap_or(("", ""));
            let items: Vec<Value> = st
                .objects
                .iter()
                .filter(|((g, p, n, _), _)| {
                    *g == group && *p == plural && (ns.is_empty() || *n == ns)
                })
                .filter(|(_, v)| lk.is_empty() || v["metadata"]["labels"][lk].as_str() == Some(lv))
                // As a real server does for built-in kinds: list items carry no type.
                .map(|(_, v)| {
                    let mut v = v.clone();
                    if let Some(m) = v.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    v
                })
                .collect();
            respond(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": format!("{}List", def.kind), "metadata": {"resourceVersion": "1"}, "items": items}),
            )
        }
        ("GET", Some(n)) => match st.objects.get(&key) {
            Some(v) => respond(StatusCode::OK, v.clone()),
            None => status(
                404,
                "NotFound",
                &format!("{plural} \"{n}\" not found"),
                json!([]),
            ),
        },
        ("DELETE", Some(n)) => {
            if dry {
                return match st.objects.get(&key) {
                    Some(v) => respond(StatusCode::OK, v.clone()),
                    None => status(
                        404,
                        "NotFound",
                        &format!("{plural} \"{n}\" not found"),
                        json!([]),
                    ),
                };
            }
            match st.objects.remove(&key) {
                Some(v) => respond(StatusCode::OK, v),
                None => status(
                    404,
                    "NotFound",
                    &format!("{plural} \"{n}\" not found"),
                    json!([]),
                ),
            }
        }
        ("PATCH", Some(n)) => {
            let Some(body) = body else {
                return status(400, "BadRequest", "no body", json!([]));
            };
            if st.reject.contains(&n) {
                return status(
                    422,
                    "Invalid",
                    &format!("{} \"{n}\" is invalid: spec: Required value", def.kind),
                    json!([]),
                );
            }
            if def.namespaced && ns.is_empty() {
                return status(400, "BadRequest", "namespace required", json!([]));
            }
            if def.namespaced
                && !st.objects.contains_key(&(
                    String::new(),
                    "namespaces".into(),
                    String::new(),
                    ns.clone(),
                ))
            {
                return status(
                    404,
                    "NotFound",
                    &format!("namespaces \"{ns}\" not found"),
                    json!([]),
                );
            }
            if query.get("force").map(String::as_str) != Some("true") {
                if let Some((manager, field)) = st.conflicts.get(&n).cloned() {
                    return status(
                        409,
                        "Conflict",
                        &format!(
                            "Apply failed with 1 conflict: conflict with \"{manager}\": {field}"
                        ),
                        json!([{"reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\""), "field": field}]),
                    );
                }
            }
            let manager = query.get("fieldManager").cloned().unwrap_or_default();
            let old = st.objects.get(&key).cloned();
            let result = match old {
                Some(o) if user_part(&o) == user_part(&body) => o,
                old => {
                    let mut v = body.clone();
                    let generation = old
                        .as_ref()
                        .and_then(|o| o["metadata"]["generation"].as_i64())
                        .unwrap_or(0)
                        + 1;
                    let rv = if dry {
                        old.as_ref()
                            .and_then(|o| o["metadata"]["resourceVersion"].as_str())
                            .unwrap_or("0")
                            .to_string()
                    } else {
                        st.next_rv()
                    };
                    v["metadata"]["uid"] = old
                        .as_ref()
                        .map(|o| o["metadata"]["uid"].clone())
                        .unwrap_or_else(|| json!(format!("uid-{n}")));
                    v["metadata"]["resourceVersion"] = json!(rv);
                    v["metadata"]["generation"] = json!(generation);
                    v["metadata"]["creationTimestamp"] = json!("2026-11-23T08:00:00Z");
                    v["metadata"]["managedFields"] = json!([{"manager": manager, "operation": "Apply", "apiVersion": body["apiVersion"]}]);
                    if let Some(s) = old
                        .as_ref()
                        .map(|o| o["status"].clone())
                        .filter(|s| !s.is_null())
                    {
                        v["status"] = s;
                    }
                    if def.kind == "CustomResourceDefinition" && !st.crds_never_establish {
                        v["status"] = json!({"conditions": [
                            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}]});
                    }
                    v
                }
            };
            if !dry {
                if def.kind == "CustomResourceDefinition" {
                    let spec = &result["spec"];
                    let g = spec["group"].as_str().unwrap_or_default().to_string();
                    let k = spec["names"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let p = spec["names"]["plural"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let namespaced = spec["scope"].as_str() != Some("Cluster");
                    for ver in spec["versions"].as_array().into_iter().flatten() {
                        let v = ver["name"].as_str().unwrap_or_default().to_string();
                        if !st
                            .kinds
                            .iter()
                            .any(|d| d.group == g && d.version == v && d.kind == k)
                        {
                            st.kinds.push(KindDef {
                                group: g.clone(),
                                version: v,
                                kind: k.clone(),
                                plural: p.clone(),
                                namespaced,
                            });
                        }
                    }
                }
                st.objects.insert(key, result.clone());
            }
            respond(StatusCode::OK, result)
        }
        // Create (a Lease): refused when the name is taken, as the API server does.
        ("POST", None) => {
            let Some(mut v) = body else {
                return status(400, "BadRequest", "no body", json!([]));
            };
            let n = v["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let key = (group.clone(), plural.clone(), ns.clone(), n.clone());
            if st.objects.contains_key(&key) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("{plural}.{group} \"{n}\" already exists"),
                    json!([]),
                );
            }
            v["metadata"]["uid"] = json!(format!("uid-{n}"));
            v["metadata"]["resourceVersion"] = json!(st.next_rv());
            v["metadata"]["creationTimestamp"] = json!("2026-11-23T08:00:00Z");
            st.objects.insert(key, v.clone());
            respond(StatusCode::CREATED, v)
        }
        // Update (a Lease): a compare-and-swap on metadata.resourceVersion.
        ("PUT", Some(n)) => {
            let Some(mut v) = body else {
                return status(400, "BadRequest", "no body", json!([]));
            };
            let Some(old) = st.objects.get(&key) else {
                return status(
                    404,
                    "NotFound",
                    &format!("{plural}.{group} \"{n}\" not found"),
                    json!([]),
                );
            };
            if v["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"] {
                return status(
                    409,
                    "Conflict",
                    &format!("Operation cannot be fulfilled on {plural}.{group} \"{n}\": the object has been modified; please apply your changes to the latest version and try again"),
                    json!([]),
                );
            }
            v["metadata"]["uid"] = old["metadata"]["uid"].clone();
            v["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
            v["metadata"]["resourceVersion"] = json!(st.next_rv());
            st.objects.insert(key, v.clone());
            respond(StatusCode::OK, v)
        }
        _ => status(
            405,
            "MethodNotAllowed",
            "not supported by the fake",
            json!([]),
        ),
    }
}
