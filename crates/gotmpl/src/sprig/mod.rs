//! Sprig v3.3.0's functions (Masterminds/sprig `genericMap`), each with its Go signature so
//! argument errors read as Go's. Sprig is a general library, not Helm: Helm's own functions
//! (`toYaml`, `include`, `tpl`, `required`, `lookup`) are the embedding program's.
//!
//! Not yet here (next sessions): dates (`now`, `date`, `dateInZone`, `toDate`, `duration`...),
//! crypto (`genPrivateKey`, `genCA`, `genSignedCert`, `htpasswd`, `bcrypt`, `derivePassword`,
//! `encryptAES`), string case conversions (snakecase, camelcase, kebabcase, shuffle), wrap,
//! abbrev, `seq`, `chunk`, getHostByName, urlParse/urlJoin, the float functions
//! (addf, subf, mulf, divf) and `randInt`, `randBytes`.
//! `keys` and `values` return sorted order where Go's is random.

mod conv;
pub mod dates;
mod dicts;
mod duration;
pub mod json;
mod lists;
mod misc;
mod numbers;
pub mod semver;
mod strings;
mod text;
mod timeparse;
mod url;

pub use conv::{deep_equal, empty, strval, to_float64, to_int64};
pub use misc::clean as clean_path;

use crate::func::{Func, FuncMap, FuncResult, Signature, Type};
use crate::value::Value;

/// Go's `string` parameter type (a short name: `String` is Rust's).
pub(crate) const STR: Type = Type::String;

pub(crate) struct Reg<'a>(&'a mut FuncMap);

impl Reg<'_> {
    pub fn fixed(
        &mut self,
        name: &str,
        params: &[Type],
        f: impl Fn(Vec<Value>) -> FuncResult + Send + Sync + 'static,
    ) {
        self.0.insert(name, Func::pure(Signature::fixed(params), f));
    }

    pub fn variadic(
        &mut self,
        name: &str,
        params: &[Type],
        tail: Type,
        f: impl Fn(Vec<Value>) -> FuncResult + Send + Sync + 'static,
    ) {
        self.0
            .insert(name, Func::pure(Signature::variadic(params, tail), f));
    }
}

/// Sprig's functions by name.
pub fn funcs() -> FuncMap {
    let mut m = FuncMap::new();
    let mut r = Reg(&mut m);
    strings::register(&mut r);
    numbers::register(&mut r);
    lists::register(&mut r);
    dicts::register(&mut r);
    semver::register(&mut r);
    misc::register(&mut r);
    dates::register(&mut r);
    text::register(&mut r);
    url::register(&mut r);
    register_general(&mut r);
    m
}

fn register_general(r: &mut Reg) {
    use Type::{Any, Bool};
    r.variadic("default", &[Any], Any, |a| {
        if a.len() < 2 || empty(&a[1]) {
            Ok(a[0].clone())
        } else {
            Ok(a[1].clone())
        }
    });
    r.fixed("empty", &[Any], |a| Ok(Value::Bool(empty(&a[0]))));
    r.variadic("coalesce", &[], Any, |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    r.variadic("all", &[], Any, |a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    r.variadic("any", &[], Any, |a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    r.fixed("ternary", &[Any, Any, Bool], |a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    r.fixed("fail", &[STR], |a| Err(strval(&a[0])));
    r.fixed("typeOf", &[Any], |a| Ok(Value::str(&a[0].type_name())));
    r.fixed("typeIs", &[STR, Any], |a| {
        Ok(Value::Bool(a[0].as_str() == Some(&*a[1].type_name())))
    });
    r.fixed("typeIsLike", &[STR, Any], |a| {
        let t = a[1].type_name();
        let target = a[0].as_str().unwrap_or("");
        Ok(Value::Bool(t == target || t == format!("*{target}")))
    });
    r.fixed("kindOf", &[Any], |a| Ok(Value::str(a[0].kind_name())));
    r.fixed("kindIs", &[STR, Any], |a| {
        Ok(Value::Bool(a[0].as_str() == Some(a[1].kind_name())))
    });
    r.fixed("deepEqual", &[Any, Any], |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
    let json_fns: [(&str, bool, &'static str, bool); 6] = [
        ("toJson", true, "", false),
        ("mustToJson", true, "", true),
        ("toPrettyJson", true, "  ", false),
        ("mustToPrettyJson", true, "  ", true),
        ("toRawJson", false, "", false),
        ("mustToRawJson", false, "", true),
    ];
    for (name, escape_html, indent, must) in json_fns {
        r.fixed(name, &[Any], move |a| {
            let opts = json::Options {
                escape_html,
                indent,
            };
            match json::encode(&a[0], &opts) {
                Ok(s) => Ok(Value::str(&s)),
                // toJson swallows the error (an empty string); toRawJson panics with it.
                Err(e) if must || name == "toRawJson" => Err(e),
                Err(_) => Ok(Value::str("")),
            }
        });
    }
    r.fixed("mustFromJson", &[STR], |a| {
        serde_json::from_str::<serde_json::Value>(a[0].as_str().unwrap_or(""))
            .map(|v| Value::from_json(&v))
            .map_err(|e| json::go_error(a[0].as_str().unwrap_or(""), &e))
    });
    r.fixed("fromJson", &[STR], |a| {
        Ok(
            serde_json::from_str::<serde_json::Value>(a[0].as_str().unwrap_or(""))
                .map(|v| Value::from_json(&v))
                .unwrap_or(Value::Nil),
        )
    });
}
