//! The diff for machines. The schema is stable within `apiVersion: ferry.dev/v1alpha1`; fields may
//! be added, never renamed or removed. Described in `docs/diff-json.md`:
//!
//! ```text
//! {
//!   "apiVersion": "ferry.dev/v1alpha1",
//!   "kind": "DiffReport",
//!   "summary": {"added": 0, "removed": 0, "changed": 0, "moved": 0, "unchanged": 0},   // over all environments
//!   "environments": [
//!     {"name": "prod", "from": "main@sha1:…" | null, "to": "…" | null,
//!      "added": 0, "removed": 0, "changed": 0, "moved": 0, "unchanged": 0}
//!   ],
//!   "changes": [
//!     {"environments": ["prod", "staging"],          // every environment with this identical change
//!      "change": "added" | "removed" | "changed" | "moved",
//!      "group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web",   // namespace "" if cluster-scoped
//!      "apiVersion": "apps/v1",
//!      "app": "web",                                  // for removed objects: the app that rendered it
//!      "previousApp": "old-app",                      // only when the app changed
//!      "diff": "@@ -1,3 +1,3 @@\n…",                  // unified diff, secret values redacted; "" for moved
//!      "secretKeys": [                                // only for secret objects
//!        {"key": "password",
//!         "status": "added" | "removed" | "changed" | "unchanged" | "cannot-tell",
//!         "oldFingerprint": "hmac:1a2b3c4d",          // only changed keys, only with a key
//!         "newFingerprint": "hmac:5e6f7a8b"}          // changed and added keys, only with a key
//!      ]}
//!   ]
//! }
//! ```

use crate::diff::report::DiffReport;
use serde::Serialize;

/// The document's `apiVersion`.
pub const API_VERSION: &str = "ferry.dev/v1alpha1";
/// The document's `kind`.
pub const KIND: &str = "DiffReport";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    api_version: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    report: &'a DiffReport,
}

/// Pretty-printed JSON, newline-terminated.
pub fn render(report: &DiffReport) -> String {
    let doc = Document {
        api_version: API_VERSION,
        kind: KIND,
        report,
    };
    serde_json::to_string_pretty(&doc).expect("a report always serialises") + "\n"
}
