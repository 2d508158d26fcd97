//! What can go wrong in a native kustomize build. Every error names the file and, where there
//! is one, the kustomization field it comes from.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'", dir.display())]
    NoKustomization { dir: PathBuf },
    #[error("found multiple kustomization files in '{}': keep only one of {}", dir.display(), names.join(", "))]
    MultipleKustomizations { dir: PathBuf, names: Vec<String> },
    #[error("cannot read '{}': {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    #[error("{}: field `{field}`: {message}", file.display())]
    Field {
        file: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: field `{field}` is not supported by the native kustomize renderer yet{}", file.display(), hint_suffix(hint))]
    Unsupported {
        file: PathBuf,
        field: String,
        hint: String,
    },
    #[error("{}: field `{field}`: {message}", file.display())]
    Refused {
        file: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: field `{field}`: '{entry}' is outside the kustomization root '{}'; kustomize only loads files in or below the kustomization directory (vendor the file into it)", file.display(), root.display())]
    Restricted {
        file: PathBuf,
        field: String,
        entry: String,
        root: PathBuf,
    },
    #[error("{}: field `{field}`: '{entry}' refers back to '{}', which is already being built (a cycle)", file.display(), visited.display())]
    Cycle {
        file: PathBuf,
        field: String,
        entry: String,
        visited: PathBuf,
    },
    #[error("{}: field `{field}`: '{entry}' does not exist", file.display())]
    Missing {
        file: PathBuf,
        field: String,
        entry: String,
    },
    #[error("{}: field `{field}`: {message}", file.display())]
    Kind {
        file: PathBuf,
        field: String,
        message: String,
    },
    #[error("{}: {message}", file.display())]
    Resource { file: PathBuf, message: String },
    #[error("{}: may not add resource with an already registered id: {id}", file.display())]
    Conflict { file: PathBuf, id: String },
    #[error("{}: field `{field}`: {}{message}", file.display(), object_prefix(object))]
    Transform {
        file: PathBuf,
        field: String,
        object: String,
        message: String,
    },
}

fn hint_suffix(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!("; {hint}")
    }
}

fn object_prefix(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!("{object}: ")
    }
}
