//! Commit statuses: the deployed commit shows pending while ferry applies, then success or
//! failure. GitHub `POST /repos/{owner}/{repo}/statuses/{sha}`, GitLab
//! `POST /api/v4/projects/{id}/statuses/{sha}`, Gitea/Forgejo
//! `POST /api/v1/repos/{owner}/{repo}/statuses/{sha}`; context (GitLab: name) `ferry/<env>`.
//! The sha comes from the revision (`<branch>@sha1:<commit>`), the repository from the
//! provider's `repository:` or else the artifact's `org.opencontainers.image.source`.

use super::config::{Provider, ProviderType};
use super::event::{Event, Kind};
use super::request::Skip;
use serde_json::{json, Value};

pub struct StatusRequest {
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// The neutral state of an event, or none for kinds that say nothing about a commit (drift).
fn state(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Progressing => "pending",
        Kind::Applied | Kind::Test => "success",
        Kind::Failed | Kind::HealthTimeout | Kind::VerificationRefused | Kind::PruneRefused => {
            "failure"
        }
        Kind::DriftBegan | Kind::DriftCorrected | Kind::DriftEnded => return None,
    })
}

/// `owner/repo` (or a GitLab group path) from a source URL: `https://host/owner/repo(.git)`,
/// `ssh://git@host/owner/repo.git`, `git@host:owner/repo.git`.
pub fn repository_from_source(source: &str) -> Option<String> {
    let path = if let Some((_, rest)) = source.split_once("://") {
        rest.split_once('/')?.1
    } else {
        source.split_once(':')?.1
    };
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    (path.split('/').filter(|s| !s.is_empty()).count() >= 2).then(|| path.to_string())
}

pub fn request(p: &Provider, e: &Event) -> Result<StatusRequest, Skip> {
    let skip = |m: String| Skip::NotApplicable(format!("provider {:?}: {m}", p.name));
    let Some(state) = state(e.kind) else {
        return Err(skip(format!(
            "a {} event sets no commit status",
            e.kind.name()
        )));
    };
    let sha = e.commit().ok_or_else(|| {
        skip(
            "no commit: the revision is not <branch>@sha1:<commit> (build from a Git commit)"
                .into(),
        )
    })?;
    let repo = p
        .repository
        .clone()
        .or_else(|| e.source.as_deref().and_then(repository_from_source))
        .ok_or_else(|| {
            skip("no repository: set `repository:` or build with a source URL".into())
        })?;
    let context = format!("ferry/{}", e.environment);
    // Descriptions are limited (GitHub: 140 characters).
    let description: String = e.summary.chars().take(140).collect();
    let token = p.token.as_ref().map(|t| t.expose()).unwrap_or_default();
    let mut url = p.url.clone();
    let base = url.path().trim_end_matches('/').to_string();
    let (path, headers, mut body) = match p.kind {
        ProviderType::GitHub => (
            format!("{base}/repos/{repo}/statuses/{sha}"),
            vec![
                ("authorization".into(), format!("Bearer {token}")),
                ("accept".into(), "application/vnd.github+json".into()),
                ("x-github-api-version".into(), "2022-11-28".into()),
            ],
            json!({"state": state, "context": context, "description": description}),
        ),
        ProviderType::GitLab => {
            let id = if repo.bytes().all(|b| b.is_ascii_digit()) {
                repo.clone()
            } else {
                repo.replace('/', "%2F")
            };
            let gl_state = if state == "failure" { "failed" } else { state };
            let mut b = json!({"state": gl_state, "name": context, "description": description});
            if let Some(branch) = e.branch() {
                b["ref"] = json!(branch);
            }
            (
                format!("{base}/api/v4/projects/{id}/statuses/{sha}"),
                vec![("private-token".into(), token.to_string())],
                b,
            )
        }
        _ => (
            format!("{base}/api/v1/repos/{repo}/statuses/{sha}"),
            vec![("authorization".into(), format!("token {token}"))],
            json!({"state": state, "context": context, "description": description}),
        ),
    };
    if let Some(l) = &e.link {
        body["target_url"] = json!(l);
    }
    url.set_path(&path);
    Ok(StatusRequest { url, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_from_source_urls() {
        for (s, want) in [
            ("https://github.com/acme/platform", Some("acme/platform")),
            (
                "https://github.com/acme/platform.git",
                Some("acme/platform"),
            ),
            (
                "ssh://git@gitlab.example/group/sub/app.git",
                Some("group/sub/app"),
            ),
            ("git@github.com:acme/platform.git", Some("acme/platform")),
            ("https://github.com/acme", None),
            ("platform", None),
        ] {
            assert_eq!(repository_from_source(s).as_deref(), want, "{s}");
        }
    }
}
