//! Artifact references: `oci://host[:port]/repo[:tag][@sha256:hex]` (the `oci://` is optional).

use std::fmt;

/// A parsed reference. `registry` always has an explicit host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{input:?} is not an artifact reference: {reason}\nhint: write oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

/// A tag as the distribution spec allows it.
pub fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.split('/').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
}

/// A digest as registries and cosign speak it: `sha256:` and 64 lower-case hex digits.
pub fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl ArtifactRef {
    /// Parses a reference.
    ///
    /// # Errors
    /// No registry host, a malformed repository, tag or digest.
    pub fn parse(input: &str) -> Result<ArtifactRef, ReferenceError> {
        let err = |reason: &str| ReferenceError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let rest = input.strip_prefix("oci://").unwrap_or(input);
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(err(
                        "the digest must be sha256: and 64 lower-case hex digits",
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| err("no repository after the registry host"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(err(
                "the first part must be a registry host (with a dot or a port, or localhost)",
            ));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) => {
                if !valid_tag(t) {
                    return Err(err(
                        "the tag may hold letters, digits, '_', '.' and '-' (at most 128)",
                    ));
                }
                (r, Some(t.to_string()))
            }
            None => (path, None),
        };
        if !valid_repository(repository) {
            return Err(err(
                "the repository must be lower-case letters, digits, '.', '_', '-' separated by '/'",
            ));
        }
        Ok(ArtifactRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// `host/repository`: what a cosign signature names as its `docker-reference`.
    pub fn repository_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The same repository at another tag.
    pub fn with_tag(&self, tag: &str) -> ArtifactRef {
        ArtifactRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository at a digest.
    pub fn with_digest(&self, digest: &str) -> ArtifactRef {
        ArtifactRef {
            tag: None,
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// True when the registry is on this machine (`localhost`, `127.0.0.0/8`, `[::1]`): the
    /// only place plain HTTP is used without `--insecure`.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => self.registry.split(':').next().unwrap_or(""),
        };
        host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback())
    }
}

impl fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        let r = ArtifactRef::parse("oci://127.0.0.1:5000/platform/staging:abc1234").expect("parse");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "platform/staging", Some("abc1234"))
        );
        assert!(r.is_loopback());
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ArtifactRef::parse(&format!("registry.example.com/p/s@{d}")).expect("parse");
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (None, Some(d.as_str()))
        );
        assert!(!r.is_loopback());
        assert_eq!(r.repository_name(), "registry.example.com/p/s");
        assert!(ArtifactRef::parse("localhost/x")
            .expect("parse")
            .is_loopback());
        assert!(ArtifactRef::parse("[::1]:5000/x")
            .expect("parse")
            .is_loopback());
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "platform/staging",
            "host.io",
            "host.io/UPPER",
            "host.io/x:bad/tag",
            "host.io/x@sha256:short",
            "host.io//x",
        ] {
            assert!(ArtifactRef::parse(bad).is_err(), "{bad}");
        }
    }
}
