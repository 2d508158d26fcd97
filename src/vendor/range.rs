//! Chart version ranges: a Flux HelmRelease's `spec.chart.spec.version` (`>=6.0.0 <7`, `6.x`,
//! `*`) and an OCIRepository's `spec.ref.semver` name a range, which source-controller
//! resolves to the highest version the source lists on every reconcile. ferry resolves it
//! once, in `ferry vendor`, and pins the choice in `ferry.lock` (`ranges:`), so a build reads
//! the same chart until the next `ferry vendor --update`.

use super::http_repo::RepoCredentials;
use crate::config::ChartRef;
use crate::images::semver::{Range, Version};

/// The version a chart reference names, exact or a range.
pub fn version_of(chart: &ChartRef) -> &str {
    match chart {
        ChartRef::Local { .. } => "",
        ChartRef::Oci { version, .. } | ChartRef::Repo { version, .. } => version,
    }
}

/// Whether `version` names one version (strict semver, as Helm requires of chart versions).
pub fn is_exact(version: &str) -> bool {
    Version::parse_tag(version).is_some()
}

/// Whether `version` is a range to resolve (an OCI tag such as `latest` is neither exact
/// nor a range: it is fetched as it is and pinned by digest).
pub fn is_range(version: &str) -> bool {
    !is_exact(version) && (version.trim().is_empty() || Range::parse(version).is_ok())
}

/// `chart` at `version`.
pub fn with_version(chart: &ChartRef, version: &str) -> ChartRef {
    match chart.clone() {
        ChartRef::Oci { url, .. } => ChartRef::Oci {
            url,
            version: version.to_string(),
        },
        ChartRef::Repo { repo, name, .. } => ChartRef::Repo {
            repo,
            name,
            version: version.to_string(),
        },
        local => local,
    }
}

/// The highest of `candidates` in `range` (an empty range or `*`: the highest release), as
/// written in the list.
///
/// # Errors
/// A range that does not parse.
pub fn pick(range: &str, candidates: &[String]) -> Result<Option<String>, String> {
    let range = if range.trim().is_empty() { "*" } else { range };
    let r = Range::parse(range).map_err(|e| format!("version range `{range}`: {e}"))?;
    Ok(candidates
        .iter()
        .filter_map(|c| Version::parse_tag(c).map(|v| (v, c)))
        .filter(|(v, _)| r.matches(v))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, c)| c.clone()))
}

/// Resolves the range of `chart` against what its source lists now (needs the network),
/// among the versions `filter` matches when given (anywhere in the tag as listed, as Go's
/// `MatchString`: source-controller filters the registry's tags before reading versions).
///
/// # Errors
/// The source cannot be read, a filter that does not compile, nothing in the range.
pub fn resolve(
    chart: &ChartRef,
    creds: &RepoCredentials,
    filter: Option<&str>,
) -> Result<String, String> {
    let range = version_of(chart);
    let (mut listed, source) = match chart {
        ChartRef::Repo { repo, name, .. } => (
            super::http_repo::versions(repo, name, creds)?,
            format!("{repo} (chart {name})"),
        ),
        ChartRef::Oci { url, .. } => (super::oci_chart::tags(url)?, url.clone()),
        ChartRef::Local { path } => return Err(format!("{path} is in the repository")),
    };
    let count = listed.len();
    if let Some(f) = filter {
        let re = regex::Regex::new(f).map_err(|e| format!("semverFilter `{f}`: {e}"))?;
        listed.retain(|t| re.is_match(t));
    }
    if matches!(chart, ChartRef::Oci { .. }) {
        // helm pushes `1.0.0+build` as the tag `1.0.0_build`.
        listed = listed.into_iter().map(|t| t.replace('_', "+")).collect();
    }
    let filtered = filter
        .map(|f| format!(" and matching semverFilter `{f}`"))
        .unwrap_or_default();
    pick(range, &listed)?.ok_or_else(|| {
        format!(
            "no version of {source} is in the range `{range}`{filtered} ({count} versions listed)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_release_in_range() {
        let c: Vec<String> = ["6.6.0", "6.7.1", "7.0.0", "6.8.0-rc.1", "v6.7.0", "latest"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(pick(">=6.0.0 <7", &c), Ok(Some("6.7.1".into())));
        assert_eq!(pick("6.x", &c), Ok(Some("6.7.1".into())));
        assert_eq!(pick("*", &c), Ok(Some("7.0.0".into())));
        assert_eq!(pick("", &c), Ok(Some("7.0.0".into())));
        assert_eq!(pick(">=6.8.0-0 <7", &c), Ok(Some("6.8.0-rc.1".into())));
        assert_eq!(pick("~6.6", &c), Ok(Some("6.6.0".into())));
        assert_eq!(pick(">=8", &c), Ok(None));
        assert!(pick(">=banana", &c).is_err());
        assert!(is_range("*") && is_range(">=6 <7") && !is_range("latest") && !is_range("6.7.0"));
        assert!(is_exact("6.7.0") && is_exact("1.0.0+b.1") && !is_exact("6.x") && !is_exact("*"));
    }
}
