//! Errors about `ferry.yaml`: each names the file, the key path, the line and what to do.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", Located { file, key, line: *line, message, hint: hint.as_deref() })]
    Invalid {
        file: PathBuf,
        /// Dotted key path, e.g. `apps.podinfo.helm.chart`; empty for the whole file.
        key: String,
        line: Option<usize>,
        message: String,
        hint: Option<String>,
    },
    #[error("cannot read {}: {source}\nhint: run `ferry init` to write a starting {}", file.display(), super::FILE_NAME)]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

struct Located<'a> {
    file: &'a PathBuf,
    key: &'a str,
    line: Option<usize>,
    message: &'a str,
    hint: Option<&'a str>,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = self.hint {
            write!(f, "\nhint: {h}")?;
        }
        Ok(())
    }
}

impl ConfigError {
    pub(crate) fn at(file: &std::path::Path, text: &str, key: &str, message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        ConfigError::Invalid {
            file: file.to_path_buf(),
            key: key.to_string(),
            line: super::line_of(text, key),
            message: message.into(),
            hint: hint.into(),
        }
    }
}
