//! Helm's template functions over Sprig's (`pkg/engine/funcs.go`, `engine.go` initFunMap):
//! `toYaml`/`fromYaml` through Go's JSON and go-yaml v2, `include` with its per-name
//! recursion limit, `tpl`, `required` and `fail` with Helm's error markers, and `lookup`,
//! which finds nothing offline.

use gotmpl::{Context, Func, FuncMap, Signature, Type, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Markers Helm wraps `required`/`fail` messages in, so that the final error can quote only
/// the message.
pub const WARN_START: &str = "HELM_ERR_START";
pub const WARN_END: &str = "HELM_ERR_END";
/// The words an error of a function native rendering lacks carries, so that `renderer: auto`
/// can tell it from a chart's own error and hand the chart to the binary.
pub const UNSUPPORTED: &str = "is not supported by ferry's native Helm renderer yet";
/// How often one name may be included within itself.
const RECURSION_MAX: usize = 1000;

fn warn_wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

/// A template value as Go's `encoding/json` sees it (for `toYaml`); `None` when JSON cannot
/// hold it.
pub fn to_json_value(v: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        Value::Invalid | Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) | Value::Int64(i) => J::from(*i),
        Value::Uint8(b) => J::from(*b),
        Value::Float(f) => J::Number(serde_json::Number::from_f64(*f)?),
        Value::Complex(..) => return None,
        Value::String(s) => J::String(s.to_string()),
        Value::List(_, items) => J::Array(
            items
                .iter()
                .map(to_json_value)
                .collect::<Option<Vec<_>>>()?,
        ),
        Value::Map(m) => {
            let m = m.borrow();
            let mut out = serde_json::Map::new();
            for (k, v) in &m.entries {
                out.insert(k.clone(), to_json_value(v)?);
            }
            J::Object(out)
        }
        Value::Object(o) => match o.json_value() {
            Some(v) => to_json_value(&v)?,
            None => J::Object(serde_json::Map::new()),
        },
    })
}

/// `sigs.k8s.io/yaml` `Marshal` of a template value without the final newline; `None` where
/// Go's marshalling fails.
pub fn to_yaml(v: &Value) -> Option<String> {
    let j = to_json_value(v)?;
    let out = crate::goyaml::to_yaml(&j);
    Some(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

fn error_map(msg: String) -> Value {
    let mut m = std::collections::BTreeMap::new();
    m.insert("Error".to_string(), Value::str(&msg));
    Value::map(m)
}

fn register_data(m: &mut FuncMap) {
    let any = Signature::fixed(&[Type::Any]);
    let s = Signature::fixed(&[Type::String]);
    m.insert(
        "toYaml",
        Func::pure(any.clone(), |a| {
            Ok(Value::str(&to_yaml(&a[0]).unwrap_or_default()))
        }),
    );
    m.insert(
        "mustToYaml",
        Func::pure(any.clone(), |a| match to_yaml(&a[0]) {
            Some(s) => Ok(Value::str(&s)),
            None => Err("json: unsupported value".into()),
        }),
    );
    m.insert(
        "fromYaml",
        Func::pure(s.clone(), |a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(
                match super::values::read_yaml_map(text.as_bytes(), "fromYaml input") {
                    Ok(m) => Value::from_json(&serde_json::Value::Object(m)),
                    Err(e) => error_map(e),
                },
            )
        }),
    );
    m.insert(
        "fromYamlArray",
        Func::pure(s.clone(), |a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match crate::render::kustomize_native::yaml11::read(text) {
                Ok(v @ serde_json::Value::Array(_)) => Value::from_json(&v),
                Ok(serde_json::Value::Null) => Value::list(Vec::new()),
                _ => Value::list(vec![Value::str(
                    "error unmarshaling JSON: json: cannot unmarshal into Go value of type []interface {}",
                )]),
            })
        }),
    );
    m.insert(
        "fromJson",
        Func::pure(s.clone(), |a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v @ serde_json::Value::Object(_)) => Value::from_json(&v),
                Ok(_) => error_map(
                    "json: cannot unmarshal into Go value of type map[string]interface {}".into(),
                ),
                Err(e) => error_map(e.to_string()),
            })
        }),
    );
    m.insert(
        "fromJsonArray",
        Func::pure(s, |a| {
            let text = a[0].as_str().unwrap_or_default();
            Ok(match serde_json::from_str::<serde_json::Value>(text) {
                Ok(v @ serde_json::Value::Array(_)) => Value::from_json(&v),
                Ok(_) => Value::list(vec![Value::str(
                    "json: cannot unmarshal into Go value of type []interface {}",
                )]),
                Err(e) => Value::list(vec![Value::str(&e.to_string())]),
            })
        }),
    );
    m.insert(
        "lookup",
        Func::pure(
            Signature::fixed(&[Type::String, Type::String, Type::String, Type::String]),
            |_| Ok(Value::map(Default::default())),
        ),
    );
    super::crypto::register(m);
    super::passwords::register(m);
    super::data::register(m);
    m.insert(
        "getHostByName",
        Func::pure(Signature::fixed(&[Type::String]), |_| Ok(Value::str(""))),
    );
}

/// Helm's function map for one render: Sprig (which has no `env`/`expandenv`), Helm's own
/// functions, and `include`/`tpl` sharing one recursion count.
pub fn helm_funcs() -> FuncMap {
    let mut m = gotmpl::sprig::funcs();
    register_data(&mut m);
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let two = Signature::fixed(&[Type::String, Type::Any]);
    let c = counts.clone();
    m.insert(
        "include",
        Func::new(two.clone(), move |ctx: &mut dyn Context, a| {
            let name = a[0].as_str().unwrap_or_default().to_string();
            {
                let mut counts = c.lock().map_err(|_| "include: poisoned".to_string())?;
                let n = counts.entry(name.clone()).or_insert(0);
                if *n > RECURSION_MAX {
                    return Err(format!(
                        "rendering template has a nested reference name: {name}: unable to execute template"
                    ));
                }
                *n += 1;
            }
            let r = ctx.execute_template(&name, a[1].clone());
            if let Ok(mut counts) = c.lock() {
                if let Some(n) = counts.get_mut(&name) {
                    *n = n.saturating_sub(1);
                }
            }
            r.map(|s| Value::str(&s)).map_err(|e| {
                let e = e.to_string();
                // Helm runs `include` on its root template, named "gotpl".
                match e.strip_prefix("template: no template ") {
                    Some(rest) if rest.contains(" associated with template ") => format!(
                        "template: no template {} associated with template \"gotpl\"",
                        gotmpl::quote::quote(&name)
                    ),
                    _ => e,
                }
            })
        }),
    );
    m.insert(
        "tpl",
        Func::new(two.clone(), move |ctx: &mut dyn Context, a| {
            let text = a[0].as_str().unwrap_or_default().to_string();
            match ctx.execute_text("gotpl", &text, a[1].clone()) {
                Ok(s) => Ok(Value::str(&s.replace("<no value>", ""))),
                Err(gotmpl::Error::Parse(e)) => Err(format!(
                    "cannot parse template {}: {e}",
                    gotmpl::quote::quote(&text)
                )),
                Err(gotmpl::Error::Exec(e)) => Err(format!(
                    "error during tpl function execution for {}: {e}",
                    gotmpl::quote::quote(&text)
                )),
            }
        }),
    );
    m.insert(
        "required",
        Func::pure(two, |a| match &a[1] {
            Value::Nil | Value::Invalid => Err(warn_wrap(a[0].as_str().unwrap_or_default())),
            Value::String(s) if s.is_empty() => Err(warn_wrap(a[0].as_str().unwrap_or_default())),
            v => Ok(v.clone()),
        }),
    );
    m.insert(
        "fail",
        Func::pure(Signature::fixed(&[Type::String]), |a| {
            Err(warn_wrap(a[0].as_str().unwrap_or_default()))
        }),
    );
    m
}

#[cfg(test)]
mod tests {
    /// Every name helm v4.1.4's `funcMap` registers: Sprig v3.3.0's `genericMap` less `env`
    /// and `expandenv`, plus Helm's own (`pkg/engine/funcs.go`, `engine.go`).
    const HELM_NAMES: &str = "abbrev abbrevboth add add1 add1f addf adler32sum ago all any append atoi b32dec b32enc b64dec b64enc base bcrypt biggest buildCustomCert camelcase cat ceil chunk clean coalesce compact concat contains date dateInZone dateModify date_in_zone date_modify decryptAES deepCopy deepEqual default derivePassword dict dig dir div divf duration durationRound empty encryptAES ext fail first float64 floor fromJson genCA genCAWithKey genPrivateKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey get getHostByName has hasKey hasPrefix hasSuffix hello htmlDate htmlDateInZone htpasswd indent initial initials int int64 isAbs join kebabcase keys kindIs kindOf last list lower max maxf merge mergeOverwrite min minf mod mul mulf mustAppend mustChunk mustCompact mustDateModify mustDeepCopy mustFirst mustFromJson mustHas mustInitial mustLast mustMerge mustMergeOverwrite mustPrepend mustPush mustRegexFind mustRegexFindAll mustRegexMatch mustRegexReplaceAll mustRegexReplaceAllLiteral mustRegexSplit mustRest mustReverse mustSlice mustToDate mustToJson mustToPrettyJson mustToRawJson mustUniq mustWithout must_date_modify nindent nospace now omit osBase osClean osDir osExt osIsAbs pick pluck plural prepend push quote randAlpha randAlphaNum randAscii randBytes randInt randNumeric regexFind regexFindAll regexMatch regexQuoteMeta regexReplaceAll regexReplaceAllLiteral regexSplit repeat replace rest reverse round semver semverCompare seq set sha1sum sha256sum sha512sum shuffle slice snakecase sortAlpha split splitList splitn squote sub subf substr swapcase ternary title toDate toDecimal toJson toPrettyJson toRawJson toString toStrings trim trimAll trimPrefix trimSuffix trimall trunc tuple typeIs typeIsLike typeOf uniq unixEpoch unset until untilStep untitle upper urlJoin urlParse uuidv4 values without wrap wrapWith 
        toToml fromToml toYaml mustToYaml toYamlPretty fromYaml fromYamlArray toJson mustToJson
        fromJson fromJsonArray include tpl required lookup";

    #[test]
    fn every_helm_function_is_registered() {
        let m = super::helm_funcs();
        let missing: Vec<&str> = HELM_NAMES
            .split_whitespace()
            .filter(|n| !m.contains(n))
            .collect();
        assert!(missing.is_empty(), "not registered: {missing:?}");
        let want: std::collections::BTreeSet<&str> = HELM_NAMES.split_whitespace().collect();
        let extra: Vec<&str> = m
            .names()
            .into_iter()
            .filter(|n| !want.contains(n))
            .collect();
        assert!(extra.is_empty(), "registered but not helm's: {extra:?}");
    }

    struct NoTemplates;

    impl gotmpl::Context for NoTemplates {
        fn execute_template(&mut self, _: &str, _: gotmpl::Value) -> Result<String, gotmpl::Error> {
            Ok(String::new())
        }
        fn execute_text(
            &mut self,
            _: &str,
            _: &str,
            _: gotmpl::Value,
        ) -> Result<String, gotmpl::Error> {
            Ok(String::new())
        }
        fn depth(&self) -> usize {
            0
        }
    }

    /// No function of helm's is a placeholder: called with the zero value of each parameter,
    /// none answers that native rendering lacks it. (`genPrivateKey ""` makes an RSA-4096
    /// key, slow in a debug build, so it gets "ecdsa".)
    #[test]
    fn no_function_is_reported_unsupported() {
        let m = super::helm_funcs();
        let mut unsupported = Vec::new();
        for name in HELM_NAMES.split_whitespace() {
            let f = m.get(name).expect("registered");
            let mut args: Vec<gotmpl::Value> = f.sig.params.iter().map(|t| t.zero()).collect();
            if name == "genPrivateKey" {
                args[0] = gotmpl::Value::str("ecdsa");
            }
            if let Err(e) = (f.imp)(&mut NoTemplates, args) {
                if e.contains(super::UNSUPPORTED) {
                    unsupported.push(format!("{name}: {e}"));
                }
            }
        }
        assert!(unsupported.is_empty(), "{unsupported:#?}");
    }
}
