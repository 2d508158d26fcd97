//! Go's output layer, byte for byte: what `sigs.k8s.io/yaml` (Go's `encoding/json`, then
//! go-yaml v2) writes for a value, Go's JSON encoding and Go's number printing. Both native
//! renderers (kustomize and Helm) end every object here.

mod emit;
mod json;
mod number;
mod resolve;
mod scalar;
mod sort;

pub use emit::{fold_nel, to_yaml, to_yaml_in_order, to_yaml_v3, unwritable_char};
pub use json::{to_json, write_json_string};
pub use number::{format_g, format_json_float, json_number, yaml_number};
pub use resolve::{parse_timestamp, plain_is_string, plain_number, Timestamp};
pub use sort::{natural_less, sort_keys};
