//! Dedup and rate limit per provider and environment: an outcome identical to the last one
//! delivered is not sent again within the window (a loop that re-applies the same revision
//! every interval, a drift that persists); every `summary_after` suppressed repeats, one
//! summary is sent instead. `progressing` is sent only when it announces a revision the
//! stream has not reported yet, so a commit status is not reset to pending every interval.

use super::event::{Event, Kind};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Last {
    key: String,
    revision: Option<String>,
    at: Instant,
    suppressed: u32,
}

#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    summary_after: u32,
    last: HashMap<(usize, String), Last>,
}

/// What to do with an event for one provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Send(Box<Event>),
    Suppress,
}

impl Dedup {
    pub fn new(window: Duration, summary_after: u32) -> Dedup {
        Dedup {
            window,
            summary_after: summary_after.max(1),
            last: HashMap::new(),
        }
    }

    pub fn judge(&mut self, provider: usize, e: &Event, now: Instant) -> Verdict {
        let slot = (provider, e.environment.clone());
        if matches!(e.kind, Kind::Progressing | Kind::Test) {
            let known = self.last.get(&slot).is_some_and(|l| {
                e.kind == Kind::Progressing
                    && l.revision == e.revision
                    && e.revision.is_some()
                    && now.duration_since(l.at) < self.window
            });
            return if known {
                Verdict::Suppress
            } else {
                Verdict::Send(Box::new(e.clone()))
            };
        }
        let key = e.dedup_key();
        if let Some(l) = self.last.get_mut(&slot) {
            if l.key == key && now.duration_since(l.at) < self.window {
                l.suppressed += 1;
                if l.suppressed >= self.summary_after {
                    let mut s = e.clone();
                    s.summary = format!("{} (repeated {} more times)", e.summary, l.suppressed);
                    l.suppressed = 0;
                    return Verdict::Send(Box::new(s));
                }
                return Verdict::Suppress;
            }
        }
        self.last.insert(
            slot,
            Last {
                key,
                revision: e.revision.clone(),
                at: now,
                suppressed: 0,
            },
        );
        Verdict::Send(Box::new(e.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: Kind, rev: &str) -> Event {
        let mut e = Event::new(kind, "prod", format!("{} {rev}", kind.name()));
        e.revision = Some(rev.into());
        e
    }

    #[test]
    fn repeats_are_suppressed_then_summarised_and_changes_go_through() {
        let mut d = Dedup::new(Duration::from_secs(60), 3);
        let t = Instant::now();
        let drift = ev(Kind::DriftBegan, "a");
        assert!(matches!(d.judge(0, &drift, t), Verdict::Send(_)));
        assert_eq!(d.judge(0, &drift, t), Verdict::Suppress);
        assert_eq!(d.judge(0, &drift, t), Verdict::Suppress);
        match d.judge(0, &drift, t) {
            Verdict::Send(s) => assert!(
                s.summary.ends_with("(repeated 3 more times)"),
                "{}",
                s.summary
            ),
            v => panic!("{v:?}"),
        }
        // Another provider has its own stream; a different outcome goes through.
        assert!(matches!(d.judge(1, &drift, t), Verdict::Send(_)));
        assert!(matches!(
            d.judge(0, &ev(Kind::DriftEnded, "a"), t),
            Verdict::Send(_)
        ));
        // After the window, the same news is news again.
        let later = t + Duration::from_secs(61);
        assert!(matches!(
            d.judge(0, &ev(Kind::DriftEnded, "a"), later),
            Verdict::Send(_)
        ));
    }

    #[test]
    fn progressing_is_sent_only_for_a_revision_not_yet_reported() {
        let mut d = Dedup::new(Duration::from_secs(60), 10);
        let t = Instant::now();
        assert!(matches!(
            d.judge(0, &ev(Kind::Progressing, "a"), t),
            Verdict::Send(_)
        ));
        assert!(matches!(
            d.judge(0, &ev(Kind::Applied, "a"), t),
            Verdict::Send(_)
        ));
        assert_eq!(
            d.judge(0, &ev(Kind::Progressing, "a"), t),
            Verdict::Suppress
        );
        assert_eq!(d.judge(0, &ev(Kind::Applied, "a"), t), Verdict::Suppress);
        assert!(matches!(
            d.judge(0, &ev(Kind::Progressing, "b"), t),
            Verdict::Send(_)
        ));
    }
}
