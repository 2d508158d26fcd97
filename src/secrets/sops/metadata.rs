//! The `sops:` block: recipients and their wrapped data keys, `lastmodified`, the encrypted MAC,
//! the version and the selectors. Key groups ferry cannot use (pgp, kms, ...) are kept verbatim.

use super::tree::{Branch, Item, Value};
use super::SopsError;
use regex::Regex;

/// The sops format version ferry writes: the release whose behaviour it follows.
pub const FORMAT_VERSION: &str = "3.11.0";

/// The suffix sops applies when no selector is given.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// An age recipient and the data key wrapped to it (an armored age file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
}

/// Which values get encrypted. sops allows at most one of these per file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    pub unencrypted_suffix: Option<String>,
    pub encrypted_suffix: Option<String>,
    pub unencrypted_regex: Option<String>,
    pub encrypted_regex: Option<String>,
    pub unencrypted_comment_regex: Option<String>,
    pub encrypted_comment_regex: Option<String>,
}

/// The field names of the selectors, in the order the struct holds them.
const SELECTOR_KEYS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

impl Selectors {
    fn slots(&self) -> [&Option<String>; 6] {
        [
            &self.unencrypted_suffix,
            &self.encrypted_suffix,
            &self.unencrypted_regex,
            &self.encrypted_regex,
            &self.unencrypted_comment_regex,
            &self.encrypted_comment_regex,
        ]
    }

    fn slots_mut(&mut self) -> [&mut Option<String>; 6] {
        [
            &mut self.unencrypted_suffix,
            &mut self.encrypted_suffix,
            &mut self.unencrypted_regex,
            &mut self.encrypted_regex,
            &mut self.unencrypted_comment_regex,
            &mut self.encrypted_comment_regex,
        ]
    }

    /// The selector in force, for messages: ``encrypted_regex `^(data)$` ``.
    pub fn describe(&self) -> String {
        SELECTOR_KEYS
            .iter()
            .zip(self.slots())
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} `{v}`")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// sops' default: everything encrypted except keys ending in `_unencrypted`.
    pub fn or_default(self) -> Selectors {
        if self.slots().iter().all(|s| s.is_none()) {
            Selectors {
                unencrypted_suffix: Some(DEFAULT_UNENCRYPTED_SUFFIX.into()),
                ..self
            }
        } else {
            self
        }
    }

    /// Refuses more than one selector and regexes that do not compile, as sops does.
    pub fn compile(&self) -> Result<Rules, SopsError> {
        let set: Vec<&str> = SELECTOR_KEYS
            .iter()
            .zip(self.slots())
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| *k)
            .collect();
        if set.len() > 1 {
            return Err(SopsError::Selectors(format!(
                "only one of {} may be set, found {}",
                SELECTOR_KEYS.join(", "),
                set.join(" and ")
            )));
        }
        let re = |name: &str, s: &Option<String>| -> Result<Option<Regex>, SopsError> {
            s.as_deref()
                .map(|p| {
                    Regex::new(p).map_err(|e| {
                        SopsError::Selectors(format!("{name} `{p}` is not a valid regex: {e}"))
                    })
                })
                .transpose()
        };
        Ok(Rules {
            unencrypted_suffix: self.unencrypted_suffix.clone().filter(|s| !s.is_empty()),
            encrypted_suffix: self.encrypted_suffix.clone().filter(|s| !s.is_empty()),
            unencrypted_regex: re("unencrypted_regex", &self.unencrypted_regex)?,
            encrypted_regex: re("encrypted_regex", &self.encrypted_regex)?,
            unencrypted_comment_regex: re(
                "unencrypted_comment_regex",
                &self.unencrypted_comment_regex,
            )?,
            encrypted_comment_regex: re("encrypted_comment_regex", &self.encrypted_comment_regex)?,
        })
    }
}

/// Compiled selectors; [`Rules::should_encrypt`] is sops' `shouldBeEncrypted`.
#[derive(Debug, Clone)]
pub struct Rules {
    unencrypted_suffix: Option<String>,
    encrypted_suffix: Option<String>,
    unencrypted_regex: Option<Regex>,
    encrypted_regex: Option<Regex>,
    unencrypted_comment_regex: Option<Regex>,
    encrypted_comment_regex: Option<Regex>,
}

impl Rules {
    /// Whether the leaf at `path` (map keys from the root), preceded by the comments in
    /// `comments` (one list per enclosing container), is encrypted.
    pub fn should_encrypt(
        &self,
        path: &[String],
        comments: &[Vec<String>],
        is_comment: bool,
    ) -> bool {
        let mut encrypted = true;
        if let Some(suffix) = &self.unencrypted_suffix {
            if path.iter().any(|p| p.ends_with(suffix.as_str())) {
                encrypted = false;
            }
        }
        if let Some(suffix) = &self.encrypted_suffix {
            encrypted = path.iter().any(|p| p.ends_with(suffix.as_str()));
        }
        if let Some(re) = &self.unencrypted_regex {
            if path.iter().any(|p| re.is_match(p)) {
                encrypted = false;
            }
        }
        if let Some(re) = &self.encrypted_regex {
            encrypted = path.iter().any(|p| re.is_match(p));
        }
        if let Some(re) = &self.unencrypted_comment_regex {
            if comments.iter().flatten().any(|c| re.is_match(c)) {
                encrypted = false;
            }
        }
        if let Some(re) = &self.encrypted_comment_regex {
            // The comment that matches is itself left readable: skip the newest comment line
            // when judging a comment.
            let last_level = comments.len().saturating_sub(1);
            let last_index = comments.last().map(|c| c.len().saturating_sub(1));
            encrypted = comments.iter().enumerate().any(|(i, level)| {
                level.iter().enumerate().any(|(j, c)| {
                    !(is_comment && i == last_level && Some(j) == last_index) && re.is_match(c)
                })
            });
        }
        encrypted
    }

    /// Whether an encrypted comment would be read back as an unencrypted one.
    pub fn unencrypted_comment_matches(&self, text: &str) -> bool {
        self.unencrypted_comment_regex
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// Everything in a file's `sops:` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub age: Vec<AgeKey>,
    pub last_modified: String,
    /// The MAC, encrypted with the data key and `lastmodified` as AAD.
    pub mac: String,
    pub selectors: Selectors,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// Entries ferry does not interpret (pgp, kms, gcp_kms, azure_kv, hc_vault, key_groups,
    /// shamir_threshold, ...), kept to be written back unchanged.
    pub other: Vec<(String, Value)>,
}

fn text(value: &Value, field: &str) -> Result<String, SopsError> {
    match value {
        Value::Str(s) | Value::Time(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(super::cipher::format_float_f(*f)),
        Value::Null => Ok(String::new()),
        _ => Err(SopsError::Metadata(format!("sops.{field} is not a string"))),
    }
}

impl Metadata {
    /// Reads the `sops:` mapping of a document.
    ///
    /// # Errors
    /// A field with the wrong shape, named by its key path.
    pub fn from_value(value: &Value) -> Result<Metadata, SopsError> {
        let Value::Map(branch) = value else {
            return Err(SopsError::Metadata(
                "the `sops` entry is not a mapping".into(),
            ));
        };
        let mut md = Metadata {
            age: Vec::new(),
            last_modified: String::new(),
            mac: String::new(),
            selectors: Selectors::default(),
            mac_only_encrypted: false,
            version: String::new(),
            other: Vec::new(),
        };
        for item in branch {
            let Item::Entry(key, v) = item else { continue };
            match key.as_str() {
                "age" => md.age = age_keys(v)?,
                "lastmodified" => md.last_modified = text(v, key)?,
                "mac" => md.mac = text(v, key)?,
                "version" => md.version = text(v, key)?,
                "mac_only_encrypted" => {
                    md.mac_only_encrypted = match v {
                        Value::Bool(b) => *b,
                        Value::Null => false,
                        _ => {
                            return Err(SopsError::Metadata(
                                "sops.mac_only_encrypted is not a boolean".into(),
                            ))
                        }
                    }
                }
                k => match SELECTOR_KEYS.iter().position(|s| *s == k) {
                    Some(i) => {
                        let t = text(v, k)?;
                        *md.selectors.slots_mut()[i] = (!t.is_empty()).then_some(t);
                    }
                    None => md.other.push((key.clone(), v.clone())),
                },
            }
        }
        if md.last_modified.is_empty() {
            return Err(SopsError::Metadata("sops.lastmodified is missing".into()));
        }
        if md.mac.is_empty() {
            return Err(SopsError::Metadata("sops.mac is missing".into()));
        }
        Ok(md)
    }

    /// The `sops:` mapping, keys sorted by name as sops writes them.
    pub fn to_value(&self) -> Value {
        let mut entries: Vec<(String, Value)> = self.other.clone();
        if !self.age.is_empty() {
            let keys = self
                .age
                .iter()
                .map(|k| {
                    Value::Map(vec![
                        Item::Entry("recipient".into(), Value::Str(k.recipient.clone())),
                        Item::Entry("enc".into(), Value::Str(k.enc.clone())),
                    ])
                })
                .collect();
            entries.push(("age".into(), Value::List(keys)));
        }
        entries.push((
            "lastmodified".into(),
            Value::Str(self.last_modified.clone()),
        ));
        entries.push(("mac".into(), Value::Str(self.mac.clone())));
        if self.mac_only_encrypted {
            entries.push(("mac_only_encrypted".into(), Value::Bool(true)));
        }
        for (k, v) in SELECTOR_KEYS.iter().zip(self.selectors.slots()) {
            if let Some(v) = v {
                entries.push(((*k).into(), Value::Str(v.clone())));
            }
        }
        entries.push(("version".into(), Value::Str(self.version.clone())));
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Item::Entry(k, v))
                .collect(),
        )
    }

    /// Whether the data key is also held by key groups ferry cannot open.
    pub fn foreign_key_groups(&self) -> Vec<String> {
        self.other
            .iter()
            .filter(|(k, v)| {
                matches!(
                    k.as_str(),
                    "pgp" | "kms" | "gcp_kms" | "azure_kv" | "hc_vault" | "hckms" | "key_groups"
                ) && !matches!(v, Value::Null)
                    && !matches!(v, Value::List(l) if l.is_empty())
            })
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn age_keys(value: &Value) -> Result<Vec<AgeKey>, SopsError> {
    let Value::List(items) = value else {
        return if matches!(value, Value::Null) {
            Ok(Vec::new())
        } else {
            Err(SopsError::Metadata("sops.age is not a list".into()))
        };
    };
    let mut keys = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Map(b) = item else {
            if matches!(item, Value::Comment(_)) {
                continue;
            }
            return Err(SopsError::Metadata(format!(
                "sops.age[{i}] is not a mapping"
            )));
        };
        let field = |name: &str| -> Result<String, SopsError> {
            super::tree::get(b, name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| SopsError::Metadata(format!("sops.age[{i}].{name} is missing")))
        };
        keys.push(AgeKey {
            recipient: field("recipient")?,
            enc: field("enc")?,
        });
    }
    Ok(keys)
}

/// Splits the `sops:` entry off every document; the first document's is the file's metadata.
///
/// # Errors
/// [`SopsError::NoMetadata`] when the first document has none.
pub fn extract(docs: &mut [Branch]) -> Result<Metadata, SopsError> {
    let mut found = None;
    for (i, doc) in docs.iter_mut().enumerate() {
        let md = super::tree::remove(doc, "sops");
        if i == 0 {
            found = md;
        }
    }
    Metadata::from_value(&found.ok_or(SopsError::NoMetadata)?)
}

/// The current time as RFC 3339 in UTC, the way Go's `time.Format(time.RFC3339)` writes it.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn more_than_one_selector_is_refused() {
        let s = Selectors {
            encrypted_regex: Some("^a".into()),
            unencrypted_suffix: Some("_x".into()),
            ..Default::default()
        };
        assert!(matches!(s.compile(), Err(SopsError::Selectors(_))));
    }

    #[test]
    fn encrypted_regex_matches_any_path_element() {
        let r = Selectors {
            encrypted_regex: Some("^(data|stringData)$".into()),
            ..Default::default()
        }
        .compile()
        .expect("compiles");
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(r.should_encrypt(&p(&["data", "password"]), &[], false));
        assert!(!r.should_encrypt(&p(&["metadata", "name"]), &[], false));
    }

    #[test]
    fn unknown_groups_round_trip() {
        let v = Value::Map(vec![
            Item::Entry(
                "kms".into(),
                Value::List(vec![Value::Map(vec![Item::Entry(
                    "arn".into(),
                    Value::Str("a".into()),
                )])]),
            ),
            Item::Entry(
                "lastmodified".into(),
                Value::Str("2024-01-01T00:00:00Z".into()),
            ),
            Item::Entry("mac".into(), Value::Str("ENC[...]".into())),
            Item::Entry("version".into(), Value::Str("3.8.1".into())),
        ]);
        let md = Metadata::from_value(&v).expect("parses");
        assert_eq!(md.foreign_key_groups(), vec!["kms".to_string()]);
        assert_eq!(md.to_value(), v);
    }
}
