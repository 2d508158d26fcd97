//! Whether an object is healthy, read from its status by kstatus's rules. Pure: no I/O.

use serde::Serialize;
use serde_json::Value;

/// The verdict on one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "camelCase")]
pub enum Health {
    /// The controller has caught up and the object does what it says.
    Current,
    /// Not there yet; the reason says what is missing.
    InProgress(String),
    /// It will not get there without a change (a failed Job, a rollout past its deadline, ...).
    Failed(String),
}

impl Health {
    pub fn is_current(&self) -> bool {
        matches!(self, Health::Current)
    }

    pub fn reason(&self) -> &str {
        match self {
            Health::Current => "",
            Health::InProgress(r) | Health::Failed(r) => r,
        }
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

fn condition_is(obj: &Value, kind: &str, status: &str) -> bool {
    condition(obj, kind).is_some_and(|c| c["status"].as_str() == Some(status))
}

fn condition_text(c: &Value) -> String {
    let reason = c["reason"].as_str().unwrap_or_default();
    let message = c["message"].as_str().unwrap_or_default();
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        (true, false) => message.to_string(),
        (true, true) => String::new(),
    }
}

fn in_progress(reason: impl Into<String>) -> Health {
    Health::InProgress(reason.into())
}

/// Assesses an object as read from the API server.
pub fn assess(obj: &Value) -> Health {
    let meta = &obj["metadata"];
    if meta["deletionTimestamp"].is_string() {
        return in_progress("being deleted");
    }
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|a| a.split_once('/'))
        .map(|(g, _)| g)
        .unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    // A controller that reports observedGeneration must have seen the latest spec.
    if let (Some(generation), Some(observed)) = (
        int(&meta["generation"]),
        int(&obj["status"]["observedGeneration"]),
    ) {
        if observed < generation {
            return in_progress(format!(
                "status.observedGeneration {observed} is behind metadata.generation {generation}: the controller has not seen the latest spec"
            ));
        }
    }
    match (group, kind) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => statefulset(obj),
        ("apps", "DaemonSet") => daemonset(obj),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => replicaset(obj),
        ("batch", "Job") => job(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => phase(obj, "Bound"),
        ("", "Namespace") => phase(obj, "Active"),
        ("", "Service") => service(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        ("apiregistration.k8s.io", "APIService") => condition_true(obj, "Available"),
        ("policy", "PodDisruptionBudget") => pdb(obj),
        ("flagger.app", "Canary") => canary(obj),
        _ => generic(obj),
    }
}

fn needs_observed(obj: &Value) -> Option<Health> {
    if obj["status"]["observedGeneration"].is_null() {
        return Some(in_progress("the controller has not reported status yet"));
    }
    None
}

fn deployment(obj: &Value) -> Health {
    if let Some(h) = needs_observed(obj) {
        return h;
    }
    if let Some(c) = condition(obj, "Progressing") {
        if c["reason"].as_str() == Some("ProgressDeadlineExceeded") {
            return Health::Failed(format!("rollout stalled: {}", condition_text(c)));
        }
    }
    let status = &obj["status"];
    let want = int(&obj["spec"]["replicas"]).unwrap_or(1);
    let updated = int(&status["updatedReplicas"]).unwrap_or(0);
    let total = int(&status["replicas"]).unwrap_or(0);
    let available = int(&status["availableReplicas"]).unwrap_or(0);
    if updated < want {
        return in_progress(format!("rollout: {updated} of {want} replicas updated"));
    }
    if total > updated {
        return in_progress(format!(
            "rollout: {} old replicas pending termination",
            total - updated
        ));
    }
    if available < updated {
        return in_progress(format!(
            "rollout: {available} of {updated} updated replicas available"
        ));
    }
    Health::Current
}

fn statefulset(obj: &Value) -> Health {
    if let Some(h) = needs_observed(obj) {
        return h;
    }
    let spec = &obj["spec"];
    let status = &obj["status"];
    let want = int(&spec["replicas"]).unwrap_or(1);
    let ready = int(&status["readyReplicas"]).unwrap_or(0);
    if spec["updateStrategy"]["type"].as_str() == Some("OnDelete") {
        return Health::Current;
    }
    let partition = int(&spec["updateStrategy"]["rollingUpdate"]["partition"]).unwrap_or(0);
    let updated = int(&status["updatedReplicas"]).unwrap_or(0);
    if partition > 0 {
        if updated < want - partition {
            return in_progress(format!(
                "partitioned rollout: {updated} of {} replicas updated",
                want - partition
            ));
        }
        return Health::Current;
    }
    if ready < want {
        return in_progress(format!("{ready} of {want} replicas ready"));
    }
    if updated < want {
        return in_progress(format!("rollout: {updated} of {want} replicas updated"));
    }
    let current = status["currentRevision"].as_str();
    let update = status["updateRevision"].as_str();
    if current != update {
        return in_progress(format!(
            "rollout: revision {} not yet current (current {})",
            update.unwrap_or("?"),
            current.unwrap_or("?")
        ));
    }
    Health::Current
}

fn daemonset(obj: &Value) -> Health {
    if let Some(h) = needs_observed(obj) {
        return h;
    }
    let status = &obj["status"];
    let desired = int(&status["desiredNumberScheduled"]).unwrap_or(0);
    let updated = int(&status["updatedNumberScheduled"]).unwrap_or(0);
    let available = int(&status["numberAvailable"]).unwrap_or(0);
    if updated < desired {
        return in_progress(format!("rollout: {updated} of {desired} pods updated"));
    }
    if available < desired {
        return in_progress(format!("{available} of {desired} pods available"));
    }
    Health::Current
}

fn replicaset(obj: &Value) -> Health {
    let want = int(&obj["spec"]["replicas"]).unwrap_or(1);
    let status = &obj["status"];
    if want > 0 && status["observedGeneration"].is_null() {
        return in_progress("the controller has not reported status yet");
    }
    let ready = int(&status["readyReplicas"]).unwrap_or(0);
    let available = int(&status["availableReplicas"]).unwrap_or(0);
    if ready < want || available < want {
        return in_progress(format!(
            "{available} of {want} replicas available, {ready} ready"
        ));
    }
    Health::Current
}

fn job(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Failed").filter(|c| c["status"] == "True") {
        return Health::Failed(format!("job failed: {}", condition_text(c)));
    }
    if condition_is(obj, "Complete", "True") {
        return Health::Current;
    }
    let status = &obj["status"];
    let active = int(&status["active"]).unwrap_or(0);
    let succeeded = int(&status["succeeded"]).unwrap_or(0);
    let want = int(&obj["spec"]["completions"]).unwrap_or(1);
    in_progress(format!(
        "job not complete: {succeeded} of {want} completions, {active} active"
    ))
}

fn pod(obj: &Value) -> Health {
    let phase = obj["status"]["phase"].as_str().unwrap_or("Pending");
    match phase {
        "Succeeded" => Health::Current,
        "Failed" => Health::Failed(format!(
            "pod failed: {}",
            obj["status"]["message"].as_str().unwrap_or("no message")
        )),
        "Running" if condition_is(obj, "Ready", "True") => Health::Current,
        _ => {
            // The first condition that is not True says why (Unschedulable, ContainersNotReady...).
            let why = obj["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["status"] != "True"))
                .map(condition_text)
                .filter(|s| !s.is_empty());
            in_progress(match why {
                Some(w) => format!("pod {phase}: {w}"),
                None => format!("pod {phase}"),
            })
        }
    }
}

fn phase(obj: &Value, want: &str) -> Health {
    match obj["status"]["phase"].as_str() {
        Some(p) if p == want => Health::Current,
        Some("Lost") => Health::Failed("claim lost its volume (phase Lost)".into()),
        Some(p) => in_progress(format!("phase {p}, waiting for {want}")),
        None => in_progress(format!("no status.phase yet, waiting for {want}")),
    }
}

fn service(obj: &Value) -> Health {
    if obj["spec"]["type"].as_str() != Some("LoadBalancer") {
        return Health::Current;
    }
    match obj["status"]["loadBalancer"]["ingress"].as_array() {
        Some(i) if !i.is_empty() => Health::Current,
        _ => in_progress("load balancer has no ingress address yet"),
    }
}

fn crd(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "NamesAccepted").filter(|c| c["status"] == "False") {
        return Health::Failed(format!("names not accepted: {}", condition_text(c)));
    }
    condition_true(obj, "Established")
}

fn pdb(obj: &Value) -> Health {
    if obj["status"]["observedGeneration"].is_null() {
        return in_progress("the controller has not reported status yet");
    }
    Health::Current
}

fn condition_true(obj: &Value, kind: &str) -> Health {
    match condition(obj, kind) {
        Some(c) if c["status"] == "True" => Health::Current,
        Some(c) => in_progress(format!(
            "condition {kind} is {}: {}",
            c["status"].as_str().unwrap_or("Unknown"),
            condition_text(c)
        )),
        None => in_progress(format!("condition {kind} not reported yet")),
    }
}

/// Flagger's Canary, by `status.phase` as Flux reads it: a roll-out in progress holds `--wait`
/// until it is promoted (Succeeded) or rolled back (Failed).
fn canary(obj: &Value) -> Health {
    match obj["status"]["phase"].as_str() {
        Some("Succeeded" | "Initialized") => Health::Current,
        Some("Failed") => Health::Failed(format!(
            "canary analysis failed: {}",
            condition(obj, "Promoted")
                .map(condition_text)
                .unwrap_or_else(|| "rolled back".into())
        )),
        Some(p) => in_progress(format!("canary phase {p}")),
        None => in_progress("Flagger has not reported a phase yet"),
    }
}

/// Custom resources and everything else: the conventional Ready and Stalled/Reconciling
/// conditions; an object without conditions is current once it exists.
fn generic(obj: &Value) -> Health {
    if let Some(c) = condition(obj, "Stalled").filter(|c| c["status"] == "True") {
        return Health::Failed(format!("stalled: {}", condition_text(c)));
    }
    if let Some(c) = condition(obj, "Reconciling").filter(|c| c["status"] == "True") {
        return in_progress(format!("reconciling: {}", condition_text(c)));
    }
    for kind in ["Ready", "Available"] {
        if let Some(c) = condition(obj, kind) {
            if c["status"] != "True" {
                return in_progress(format!(
                    "condition {kind} is {}: {}",
                    c["status"].as_str().unwrap_or("Unknown"),
                    condition_text(c)
                ));
            }
        }
    }
    Health::Current
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_documents;

    /// Every fixture says what kstatus would answer; ferry must answer the same, with a reason
    /// that names what is missing.
    #[test]
    fn verdicts_on_real_object_fixtures() {
        let text = include_str!("../../testdata/apply/health-fixtures.yaml");
        let docs = parse_documents(text).expect("fixtures parse");
        assert!(docs.len() >= 25, "fixture table shrank: {}", docs.len());
        for doc in &docs {
            let ann = &doc["metadata"]["annotations"];
            let name = format!(
                "{}/{}",
                doc["kind"].as_str().unwrap_or("?"),
                doc["metadata"]["name"].as_str().unwrap_or("?")
            );
            let expect = ann["ferry.test/expect"]
                .as_str()
                .expect("expect annotation");
            let got = assess(doc);
            let verdict = match &got {
                Health::Current => "Current",
                Health::InProgress(_) => "InProgress",
                Health::Failed(_) => "Failed",
            };
            assert_eq!(verdict, expect, "{name}: {got:?}");
            if let Some(part) = ann["ferry.test/reason"].as_str() {
                assert!(
                    got.reason().contains(part),
                    "{name}: reason {:?} lacks {part:?}",
                    got.reason()
                );
            }
        }
    }
}
