//! What was built: commit, branch and commit time, in the forms Flux and OCI annotations use.

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// Full commit id, when the source is a Git repository.
    pub commit: Option<String>,
    /// The branch, when the revision is a branch or HEAD points at one.
    pub branch: Option<String>,
    /// Commit time, seconds since the epoch (UTC).
    pub commit_time: Option<i64>,
    /// True when files came from the working tree rather than the commit.
    pub worktree: bool,
}

impl Revision {
    /// `<branch>@sha1:<commit>` (Flux's revision format), `sha1:<commit>` without a branch.
    pub fn flux_revision(&self) -> Option<String> {
        let commit = self.commit.as_ref()?;
        Some(match &self.branch {
            Some(b) => format!("{b}@sha1:{commit}"),
            None => format!("sha1:{commit}"),
        })
    }

    /// The commit time as RFC 3339 (UTC), for `org.opencontainers.image.created`.
    pub fn created(&self) -> Option<String> {
        self.commit_time.map(rfc3339)
    }

    pub fn short_commit(&self) -> Option<&str> {
        self.commit.as_deref().map(|c| &c[..c.len().min(7)])
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), valid for every i64 day count we can meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_420_800 + 3_661), "2026-11-23T01:01:01Z");
    }

    #[test]
    fn flux_revision_forms() {
        let mut r = Revision { commit: Some("abc".into()), ..Default::default() };
        assert_eq!(r.flux_revision().as_deref(), Some("sha1:abc"));
        r.branch = Some("main".into());
        assert_eq!(r.flux_revision().as_deref(), Some("main@sha1:abc"));
    }
}
