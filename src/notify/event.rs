//! What ferry tells people and code hosts: one [`Event`] per outcome, built only from counts,
//! object names and messages that already went through ferry's redaction (apply errors never
//! carry a Secret's data), so a provider can format it without ever seeing a secret value.

use crate::apply::{ApplyReport, ObjectStatus, PruneStatus};
use serde::Serialize;

/// How many failure lines an event carries: enough to act on, short enough for a chat message.
pub const MAX_DETAILS: usize = 5;
/// A detail line longer than this is cut: receivers limit field sizes (Slack 3000, Discord 1024).
const MAX_DETAIL_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Info,
    Error,
}

/// The kinds of event, named as in ferry.yaml's `events:` and `--notify-event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// An apply began: commit statuses turn `pending`; chat ignores it unless asked for.
    Progressing,
    /// A revision was applied (with counts).
    Applied,
    /// Objects failed to apply, or the apply could not run (with the first errors).
    Failed,
    /// `--wait` ran out of time (which objects, why).
    HealthTimeout,
    DriftBegan,
    DriftCorrected,
    DriftEnded,
    /// The artifact's signature or digests did not verify: nothing was applied.
    VerificationRefused,
    /// Pruning would delete more than the budget allows: nothing was pruned.
    PruneRefused,
    /// `ferry notify test`.
    Test,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Progressing,
        Kind::Applied,
        Kind::Failed,
        Kind::HealthTimeout,
        Kind::DriftBegan,
        Kind::DriftCorrected,
        Kind::DriftEnded,
        Kind::VerificationRefused,
        Kind::PruneRefused,
        Kind::Test,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Progressing => "progressing",
            Kind::Applied => "applied",
            Kind::Failed => "failed",
            Kind::HealthTimeout => "healthTimeout",
            Kind::DriftBegan => "driftBegan",
            Kind::DriftCorrected => "driftCorrected",
            Kind::DriftEnded => "driftEnded",
            Kind::VerificationRefused => "verificationRefused",
            Kind::PruneRefused => "pruneRefused",
            Kind::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    pub fn severity(self) -> Severity {
        match self {
            Kind::Failed | Kind::HealthTimeout | Kind::VerificationRefused | Kind::PruneRefused => {
                Severity::Error
            }
            _ => Severity::Info,
        }
    }
}

/// Counts of what an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    pub pruned: usize,
    pub failed: usize,
    pub unhealthy: usize,
}

/// One thing that happened to one environment. Providers render it; nothing else goes out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub kind: Kind,
    pub severity: Severity,
    /// The environment (one-shot apply) or the sync's name (agent).
    pub environment: String,
    /// `sha256:...` of the artifact, when known.
    pub digest: Option<String>,
    /// `<branch>@sha1:<commit>`, when the build knew it.
    pub revision: Option<String>,
    /// The artifact's `org.opencontainers.image.source`, when known (commit statuses use it).
    pub source: Option<String>,
    /// One line for a person.
    pub summary: String,
    /// The first failures, `object: message`, at most [`MAX_DETAILS`].
    pub details: Vec<String>,
    pub counts: Option<Counts>,
    /// A link (a CI run, a dashboard) when configured.
    pub link: Option<String>,
}

impl Event {
    pub fn new(kind: Kind, environment: &str, summary: impl Into<String>) -> Event {
        Event {
            kind,
            severity: kind.severity(),
            environment: environment.to_string(),
            digest: None,
            revision: None,
            source: None,
            summary: summary.into(),
            details: Vec::new(),
            counts: None,
            link: None,
        }
    }

    pub fn with_detail(mut self, line: impl Into<String>) -> Event {
        if self.details.len() < MAX_DETAILS {
            self.details.push(cut(line.into()));
        }
        self
    }

    /// The commit of `<branch>@sha1:<commit>` (or a bare `sha1:<commit>`), if it is one.
    pub fn commit(&self) -> Option<&str> {
        let rev = self.revision.as_deref()?;
        let sha = rev.rsplit_once("sha1:").map(|(_, s)| s)?;
        (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
    }

    /// The branch of `<branch>@sha1:<commit>`.
    pub fn branch(&self) -> Option<&str> {
        self.revision
            .as_deref()?
            .split_once("@sha1:")
            .map(|(b, _)| b)
    }

    /// Identity for dedup: the same kind, environment, revision and summary is the same news.
    pub fn dedup_key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.kind.name(),
            self.environment,
            self.revision.as_deref().unwrap_or(""),
            self.summary
        )
    }

    /// The `Progressing` event that opens an apply of this artifact.
    pub fn progressing(environment: &str, digest: &str, revision: Option<&str>) -> Event {
        let mut e = Event::new(
            Kind::Progressing,
            environment,
            format!("applying {}", revision.unwrap_or(digest)),
        );
        e.digest = Some(digest.to_string());
        e.revision = revision.map(str::to_string);
        e
    }

    /// The outcome of one apply: applied, failed, health timeout or prune refused (one event,
    /// the most serious that applies: a failure hides nothing because its details name the rest).
    pub fn from_report(r: &ApplyReport) -> Event {
        let s = &r.summary;
        let counts = Counts {
            created: s.created,
            configured: s.configured,
            unchanged: s.unchanged,
            pruned: s.pruned,
            failed: s.failed,
            unhealthy: s.unhealthy,
        };
        let counted = format!(
            "{} created, {} configured, {} unchanged, {} pruned",
            s.created, s.configured, s.unchanged, s.pruned
        );
        let mut e = if s.failed > 0 || !r.prune.failed.is_empty() {
            let mut e = Event::new(
                Kind::Failed,
                &r.environment,
                format!(
                    "{} failed to apply ({} failed; {counted})",
                    r.environment,
                    s.failed + r.prune.failed.len()
                ),
            );
            for o in &r.objects {
                if let ObjectStatus::Failed { error } = &o.result {
                    e = e.with_detail(format!("{}: {error}", o.object));
                }
            }
            for k in &r.prune.failed {
                e = e.with_detail(format!("prune {}: {}", k.object, k.reason));
            }
            e
        } else if s.unhealthy > 0 {
            let mut e = Event::new(
                Kind::HealthTimeout,
                &r.environment,
                format!(
                    "{}: {} objects not ready in time ({counted})",
                    r.environment, s.unhealthy
                ),
            );
            for h in r.health.iter().flatten() {
                if !h.health.is_current() {
                    e = e.with_detail(format!("{}: {}", h.object, h.health.reason()));
                }
            }
            e
        } else if r.prune.status == PruneStatus::Refused {
            Event::new(
                Kind::PruneRefused,
                &r.environment,
                format!("{}: prune refused by the budget ({counted})", r.environment),
            )
            .with_detail(r.prune.reason.clone().unwrap_or_default())
        } else {
            Event::new(
                Kind::Applied,
                &r.environment,
                format!(
                    "{} applied{}: {counted}",
                    r.environment,
                    if r.dry_run { " (dry run)" } else { "" }
                ),
            )
        };
        e.digest = Some(r.digest.clone());
        e.revision = r.revision.clone();
        e.counts = Some(counts);
        e
    }

    /// An apply that could not run at all. The message is ferry's own error text, which never
    /// holds a Secret's data; a verification error becomes `VerificationRefused`.
    pub fn from_error(environment: &str, error: &anyhow::Error) -> Event {
        let verification = error
            .chain()
            .any(|c| c.downcast_ref::<crate::artifact::VerifyError>().is_some());
        let kind = if verification {
            Kind::VerificationRefused
        } else {
            Kind::Failed
        };
        let e = Event::new(
            kind,
            environment,
            format!(
                "{environment}: {}",
                if verification {
                    "artifact verification refused; nothing applied"
                } else {
                    "apply could not run"
                }
            ),
        );
        e.with_detail(format!("{error:#}"))
    }
}

fn cut(mut s: String) -> String {
    if s.chars().count() > MAX_DETAIL_CHARS {
        s = s.chars().take(MAX_DETAIL_CHARS - 1).collect::<String>() + "…";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_and_branch_come_from_the_revision() {
        let mut e = Event::new(Kind::Applied, "prod", "x");
        e.revision = Some(format!("main@sha1:{}", "a".repeat(40)));
        assert_eq!(e.commit(), Some("a".repeat(40).as_str()));
        assert_eq!(e.branch(), Some("main"));
        e.revision = Some("main@sha1:zz".into());
        assert_eq!(e.commit(), None);
    }

    #[test]
    fn kinds_round_trip_and_details_are_bounded() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
        }
        let mut e = Event::new(Kind::Failed, "prod", "x");
        for i in 0..20 {
            e = e.with_detail("y".repeat(1000 + i));
        }
        assert_eq!(e.details.len(), MAX_DETAILS);
        assert!(e
            .details
            .iter()
            .all(|d| d.chars().count() == MAX_DETAIL_CHARS));
    }
}
