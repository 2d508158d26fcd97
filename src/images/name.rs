//! Image repository names as container tools read them: `HOST[:PORT]/PATH`, where a first part
//! without a dot, a port or `localhost` is a Docker Hub path (`nginx` is
//! `docker.io/library/nginx`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageName {
    /// The registry host as written (`docker.io` for Docker Hub).
    pub registry: String,
    pub repository: String,
}

impl ImageName {
    /// Parses a repository name without tag or digest.
    ///
    /// # Errors
    /// A tag or digest, upper-case letters, empty parts.
    pub fn parse(text: &str) -> Result<ImageName, String> {
        if text.contains('@') {
            return Err(format!(
                "`{text}`: an image policy names a repository, not a digest"
            ));
        }
        let (first, rest) = match text.split_once('/') {
            Some((f, r)) if f.contains('.') || f.contains(':') || f == "localhost" => {
                (f.to_string(), r.to_string())
            }
            _ => ("docker.io".to_string(), text.to_string()),
        };
        if rest.contains(':') {
            return Err(format!(
                "`{text}`: an image policy names a repository, not a tag"
            ));
        }
        let repository = if first == "docker.io" && !rest.contains('/') {
            format!("library/{rest}")
        } else {
            rest
        };
        let ok = !repository.is_empty()
            && repository.split('/').all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            });
        if !ok {
            return Err(format!(
                "`{text}` is not a repository name (lower-case letters, digits, '.', '_', '-' separated by '/')"
            ));
        }
        Ok(ImageName {
            registry: first,
            repository,
        })
    }

    /// The host the distribution API answers on.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// Whether the registry is on this machine (plain HTTP is fine there).
    pub fn is_loopback(&self) -> bool {
        let host = self
            .registry
            .rsplit_once(':')
            .map_or(self.registry.as_str(), |(h, _)| h);
        host == "localhost" || host.starts_with("127.") || host == "[::1]"
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = ImageName::parse("nginx").expect("ok");
        assert_eq!(
            (n.registry.as_str(), n.repository.as_str()),
            ("docker.io", "library/nginx")
        );
        let n = ImageName::parse("127.0.0.1:5000/team/app").expect("ok");
        assert!(n.is_loopback());
        assert_eq!(n.repository, "team/app");
        assert!(ImageName::parse("ghcr.io/org/app:1.0").is_err());
        assert!(ImageName::parse("ghcr.io/Org/app").is_err());
    }
}
