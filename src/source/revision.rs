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
    gotmpl::sprig::dates::Time {
        secs,
        nanos: 0,
        offset: 0,
    }
    .format("2006-01-02T15:04:05Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_392_000 + 3_661), "2026-11-23T01:01:01Z");
    }

    #[test]
    fn flux_revision_forms() {
        let mut r = Revision {
            commit: Some("abc".into()),
            ..Default::default()
        };
        assert_eq!(r.flux_revision().as_deref(), Some("sha1:abc"));
        r.branch = Some("main".into());
        assert_eq!(r.flux_revision().as_deref(), Some("main@sha1:abc"));
    }
}
