//! Kubernetes Events on a Sync (`kubectl events --for sync/NAME` shows them): one for each
//! apply, prune and failure, rate-limited so that a sync failing every backoff step, or one
//! repeating the same message, does not fill the event store.

use super::spec::{GROUP, KIND, VERSION};
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// The Sync an event is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
}

impl<'a> From<&'a super::spec::Sync> for About<'a> {
    fn from(s: &'a super::spec::Sync) -> Self {
        About {
            namespace: &s.namespace,
            name: &s.name,
            uid: &s.uid,
        }
    }
}

/// Sends events, at most one per (sync, reason, message) per `window`.
pub struct Recorder {
    client: Client,
    identity: String,
    window: Duration,
    sent: Mutex<HashMap<(String, String, String), Instant>>,
}

impl Recorder {
    pub fn new(client: Client, identity: String, window: Duration) -> Recorder {
        Recorder {
            client,
            identity,
            window,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this event may go out now (and notes that it did).
    fn admit(&self, about: About<'_>, reason: &str, message: &str) -> bool {
        let key = (
            format!("{}/{}", about.namespace, about.name),
            reason.to_string(),
            message.to_string(),
        );
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sent.retain(|_, at| now.duration_since(*at) < self.window);
        if sent.contains_key(&key) {
            return false;
        }
        sent.insert(key, now);
        true
    }

    /// Records an event; a failure to record is logged, never fatal to the sync.
    pub async fn event(
        &self,
        about: impl Into<About<'_>>,
        kind: EventType,
        reason: &str,
        message: &str,
    ) {
        let about = about.into();
        if !self.admit(about, reason, message) {
            return;
        }
        let now = Timestamp::now();
        // The API server refuses messages over 1 KiB in events.k8s.io; stay under it here too.
        let message: String = message.chars().take(1024).collect();
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", about.name)),
                namespace: Some(about.namespace.to_string()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(format!("{GROUP}/{VERSION}")),
                kind: Some(KIND.into()),
                name: Some(about.name.to_string()),
                namespace: Some(about.namespace.to_string()),
                uid: Some(about.uid.to_string()).filter(|u| !u.is_empty()),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(
                match kind {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            source: Some(EventSource {
                component: Some("ferry-agent".into()),
                host: None,
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            count: Some(1),
            action: Some(reason.into()),
            reporting_component: Some("ferry.dev/agent".into()),
            reporting_instance: Some(self.identity.clone()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), about.namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            eprintln!(
                "agent: {}/{}: cannot record event {reason}: {e}",
                about.namespace, about.name
            );
        }
    }
}
