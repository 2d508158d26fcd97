//! Kubernetes objects as plain data: identity, scope, ordering and the YAML codec. No I/O.

mod object;
mod order;
mod scope;
pub mod strict;
mod yaml;

pub use object::{ObjRef, Object, ObjectError};
pub use order::{apply_rank, sort_objects};
pub use scope::{is_builtin_cluster_scoped, Scope, ScopeTable};
pub use yaml::{
    parse_documents, parse_marking_duplicates, parse_rendered, to_yaml, YamlError, DUPLICATE_MARK,
};
