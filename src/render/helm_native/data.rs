//! Helm's TOML and pretty YAML functions: `toToml` (BurntSushi/toml's encoder),
//! `fromToml`, `toYamlPretty` (go-yaml v3 with indent 2).

use gotmpl::{Func, FuncMap, Signature, Type};

pub fn register(m: &mut FuncMap) {
    for name in ["toToml", "fromToml", "toYamlPretty"] {
        m.insert(
            name,
            Func::pure(Signature::fixed(&[Type::Any]), move |_| {
                Err(format!("{name} {}", super::funcs::UNSUPPORTED))
            }),
        );
    }
}
