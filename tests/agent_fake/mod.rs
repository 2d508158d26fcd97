//! The agent's side of the fake API server: the Sync kind with its status subresource, merge
//! patches, a watch of Syncs (each change bumps a resourceVersion; a watch request answers
//! with the changes after its version, waiting up to 300 ms for one, then closes as a real
//! watch does at its timeout), Leases with optimistic concurrency (resourceVersion on update, 409 on a stale one or
//! on creating one that exists) and Events, in front of the apply fake that serves the rest.
#![allow(dead_code)]

use crate::apply_fake::{self, KindDef, Recorded, State};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

pub struct AgentFake {
    pub state: Arc<Mutex<State>>,
    pub events: Arc<Mutex<Vec<Value>>>,
}

fn version_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Marks a Sync changed: a new resourceVersion, as every write on a real server.
fn touch(st: &mut State, ns: &str, name: &str) {
    let rv = st.next_rv();
    if let Some(o) = st.get_mut("ferry.dev", "syncs", ns, name) {
        o["metadata"]["resourceVersion"] = json!(rv);
    }
}

/// A watch request: the changes after `since` as watch events, one JSON object per line.
async fn watch_syncs(state: &Arc<Mutex<State>>, ns: Option<&str>, since: u64) -> Response<Body> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
    loop {
        let events: Vec<(u64, &str, Value)> = {
            let st = state.lock().expect("state");
            let deleted = st
                .tombstones
                .iter()
                .filter(|(rv, v)| {
                    *rv > since
                        && v["kind"] == "Sync"
                        && ns.is_none_or(|ns| v["metadata"]["namespace"] == ns)
                })
                .map(|(rv, v)| (*rv, "DELETED", v.clone()));
            st.objects
                .iter()
                .filter(|((g, p, n, _), _)| {
                    g == "ferry.dev" && p == "syncs" && ns.is_none_or(|ns| ns == n)
                })
                .map(|(_, v)| (version_of(v), "MODIFIED", v.clone()))
                .filter(|(rv, _, _)| *rv > since)
                .chain(deleted)
                .collect()
        };
        let mut events = events;
        if !events.is_empty() || std::time::Instant::now() > deadline {
            events.sort_by_key(|e| e.0);
            let mut body = Vec::new();
            for (_, kind, object) in events {
                serde_json::to_writer(&mut body, &json!({"type": kind, "object": object}))
                    .expect("json");
                body.push(b'\n');
            }
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .expect("response");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn respond(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("code"))
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).expect("json")))
        .expect("response")
}

fn failure(code: u16, reason: &str, message: &str) -> Response<Body> {
    respond(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}),
    )
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

impl AgentFake {
    pub fn new() -> (AgentFake, kube::Client) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let mut st = State::builtin();
        st.kinds.push(KindDef {
            group: "ferry.dev".into(),
            version: "v1alpha1".into(),
            kind: "Sync".into(),
            plural: "syncs".into(),
            namespaced: true,
        });
        st.kinds.push(KindDef {
            group: "coordination.k8s.io".into(),
            version: "v1".into(),
            kind: "Lease".into(),
            plural: "leases".into(),
            namespaced: true,
        });
        let state = Arc::new(Mutex::new(st));
        let events = Arc::new(Mutex::new(Vec::new()));
        let (st, ev) = (state.clone(), events.clone());
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let (st, ev) = (st.clone(), ev.clone());
                tokio::spawn(async move {
                    respond.send_response(serve(&st, &ev, request).await);
                });
            }
        });
        (
            AgentFake { state, events },
            kube::Client::new(service, "default"),
        )
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.with(|s| s.requests.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.requests.clear())
    }

    /// Requests that change something (everything but GET).
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    /// The stored Sync object.
    pub fn sync(&self, ns: &str, name: &str) -> Value {
        self.with(|s| s.get("ferry.dev", "syncs", ns, name).cloned())
            .unwrap_or_else(|| panic!("no Sync {ns}/{name}"))
    }

    pub fn put_sync(&self, ns: &str, name: &str, spec: Value) {
        self.with(|s| {
            let old = s.get("ferry.dev", "syncs", ns, name).cloned();
            let generation = old
                .as_ref()
                .and_then(|o| o["metadata"]["generation"].as_i64())
                .unwrap_or(0)
                + 1;
            let mut v = json!({"apiVersion": "ferry.dev/v1alpha1", "kind": "Sync",
                "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}"), "generation": generation},
                "spec": spec});
            if let Some(status) = old.as_ref().map(|o| o["status"].clone()).filter(|s| !s.is_null()) {
                v["status"] = status;
            }
            if let Some(a) = old.as_ref().map(|o| o["metadata"]["annotations"].clone()).filter(|a| !a.is_null()) {
                v["metadata"]["annotations"] = a;
            }
            s.put("ferry.dev", "syncs", ns, v);
            touch(s, ns, name);
        });
    }

    pub fn put_secret(&self, ns: &str, name: &str, key: &str, text: &str) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        self.with(|s| {
            s.put(
                "",
                "secrets",
                ns,
                json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": ns}, "data": {key: b64}}),
            )
        });
    }

    pub fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events").clone()
    }

    /// `(type, reason)` of every event, in order.
    pub fn event_reasons(&self) -> Vec<(String, String)> {
        self.events()
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap_or_default().to_string(),
                    e["reason"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn serve(
    state: &Arc<Mutex<State>>,
    events: &Arc<Mutex<Vec<Value>>>,
    req: Request<Body>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    let segs = segments(&path);
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let method = parts.method.as_str().to_string();
    let body: Option<Value> = serde_json::from_slice(&bytes).ok();
    let record = |st: &mut State| {
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: Default::default(),
            content_type: parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.clone(),
            impersonate_user: parts
                .headers
                .get("impersonate-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            impersonate_groups: Vec::new(),
        })
    };
    let query: std::collections::BTreeMap<String, String> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (apply_fake::decode(k), apply_fake::decode(v)))
        .collect();
    if method == "GET" && query.get("watch").map(String::as_str) == Some("true") {
        let since = query
            .get("resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        match seg.as_slice() {
            ["apis", "ferry.dev", "v1alpha1", "namespaces", ns, "syncs"] => {
                return watch_syncs(state, Some(ns), since).await
            }
            ["apis", "ferry.dev", "v1alpha1", "syncs"] => {
                return watch_syncs(state, None, since).await
            }
            _ => {}
        }
    }
    match (method.as_str(), seg.as_slice()) {
        ("DELETE", ["apis", "ferry.dev", "v1alpha1", "namespaces", ns, "syncs", name]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let key = (
                "ferry.dev".to_string(),
                "syncs".to_string(),
                ns.to_string(),
                name.to_string(),
            );
            let Some(mut obj) = st.objects.remove(&key) else {
                return failure(404, "NotFound", &format!("syncs \"{name}\" not found"));
            };
            let rv = st.next_rv();
            obj["metadata"]["resourceVersion"] = json!(rv);
            let at = version_of(&obj);
            st.tombstones.push((at, obj.clone()));
            respond(200, obj)
        }
        ("PATCH", ["apis", "ferry.dev", "v1alpha1", "namespaces", ns, "syncs", name, "status"]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let Some(obj) = st.get_mut("ferry.dev", "syncs", ns, name) else {
                return failure(404, "NotFound", &format!("syncs \"{name}\" not found"));
            };
            // Server-side apply of the status by its only manager: the status is what was sent.
            obj["status"] = body.map(|b| b["status"].clone()).unwrap_or(Value::Null);
            touch(&mut st, ns, name);
            let obj = st.get("ferry.dev", "syncs", ns, name).cloned();
            respond(200, obj.unwrap_or(Value::Null))
        }
        ("PATCH", ["apis", "ferry.dev", "v1alpha1", "namespaces", ns, "syncs", name]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let Some(obj) = st.get_mut("ferry.dev", "syncs", ns, name) else {
                return failure(404, "NotFound", &format!("syncs \"{name}\" not found"));
            };
            let before = obj["spec"].clone();
            merge(obj, &body.unwrap_or(Value::Null));
            if obj["spec"] != before {
                let g = obj["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                obj["metadata"]["generation"] = json!(g);
            }
            touch(&mut st, ns, name);
            let obj = st.get("ferry.dev", "syncs", ns, name).cloned();
            respond(200, obj.unwrap_or(Value::Null))
        }
        ("POST", ["api", "v1", "namespaces", _ns, "events"]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let mut ev = events.lock().expect("events");
            let mut e = body.unwrap_or(Value::Null);
            e["metadata"]["name"] = json!(format!("event-{}", ev.len()));
            ev.push(e.clone());
            respond(201, e)
        }
        ("POST", ["apis", "coordination.k8s.io", "v1", "namespaces", ns, "leases"]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let mut lease = body.unwrap_or(Value::Null);
            let name = lease["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if st.get("coordination.k8s.io", "leases", ns, &name).is_some() {
                return failure(
                    409,
                    "AlreadyExists",
                    &format!("leases \"{name}\" already exists"),
                );
            }
            lease["metadata"]["resourceVersion"] = json!("1");
            st.put("coordination.k8s.io", "leases", ns, lease.clone());
            respond(201, lease)
        }
        ("PUT", ["apis", "coordination.k8s.io", "v1", "namespaces", ns, "leases", name]) => {
            let mut st = state.lock().expect("state");
            record(&mut st);
            let mut lease = body.unwrap_or(Value::Null);
            let Some(old) = st.get("coordination.k8s.io", "leases", ns, name) else {
                return failure(404, "NotFound", &format!("leases \"{name}\" not found"));
            };
            let rv = old["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("0")
                .to_string();
            if lease["metadata"]["resourceVersion"].as_str() != Some(rv.as_str()) {
                return failure(409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again");
            }
            let next = rv.parse::<u64>().unwrap_or(0) + 1;
            lease["metadata"]["resourceVersion"] = json!(next.to_string());
            st.put("coordination.k8s.io", "leases", ns, lease.clone());
            respond(200, lease)
        }
        _ => {
            let mut builder = Request::builder()
                .method(parts.method.clone())
                .uri(parts.uri.clone());
            for (k, v) in &parts.headers {
                builder = builder.header(k, v);
            }
            let req = builder.body(Body::from(bytes.to_vec())).expect("request");
            apply_fake::serve(state, req).await
        }
    }
}
