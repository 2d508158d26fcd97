//! Sprig's certificate functions (`genCA`, `genSelfSignedCert`, `genSignedCert`, their
//! `...WithKey` forms and `buildCustomCert`): an X.509 certificate shaped as Go's
//! `x509.CreateCertificate` writes Sprig's templates (key usages, basic constraints, subject
//! and authority key ids from the first 160 bits of SHA-256 as Go 1.25 does, alternative
//! names), PEM-encoded, signed with an RSA, ECDSA P-256 or Ed25519 key. The output is random,
//! as in helm: only its shape and validity can be compared.

use super::der::{bit_string, integer, oid, parse_certificate, pem, pem_decode, seq, tlv};
use super::keys::Key;
use gotmpl::{Func, Object, Signature, Type, Value};
use rsa::sha2::{Digest, Sha256};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

/// Sprig's `certificate`: `.Cert` and `.Key` in PEM.
///
/// A certificate on a new RSA key is made when first looked at, not when `genCA`,
/// `genSelfSignedCert` or `genSignedCert` returns: charts commonly call `genCA` in a template
/// that uses the result only under a condition (Bitnami's `tls-secret.yaml`), and a 2048-bit
/// RSA key costs tens of milliseconds. Nothing can tell the difference: the key and serial
/// are random either way, the validity starts at the time of the call, and the one step that
/// can fail on the template's input (reading a CA ferry did not make) is still taken at the
/// call.
pub struct Certificate {
    made: OnceCell<Result<Pems, String>>,
    recipe: RefCell<Option<Recipe>>,
    /// Made (or to be made) by this render on a new key, so trusted as a signer.
    on_new_key: bool,
}

struct Pems {
    cert: String,
    key_pem: String,
}

/// What a certificate not made yet will be made from.
struct Recipe {
    spec: Spec,
    /// The time of the call, in Unix seconds: the start of the validity.
    now: i64,
    parent: Option<Parent>,
}

enum Parent {
    /// A CA certificate `genCA` returned, itself perhaps not made yet.
    Ours(Rc<dyn Object>),
    /// A CA read when the leaf was asked for (`buildCustomCert`, `...WithKey`).
    Read(Box<Signer>),
}

/// Never the key: a template value's debug form can reach a log.
impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("made", &self.made.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Certificate {
    fn made(cert: String, key_pem: String) -> Certificate {
        Certificate {
            made: OnceCell::from(Ok(Pems { cert, key_pem })),
            recipe: RefCell::new(None),
            on_new_key: false,
        }
    }

    fn later(recipe: Recipe) -> Certificate {
        Certificate {
            made: OnceCell::new(),
            recipe: RefCell::new(Some(recipe)),
            on_new_key: true,
        }
    }

    /// The PEM texts, made now if they were not yet.
    fn pems(&self) -> Result<&Pems, &str> {
        self.made
            .get_or_init(|| {
                let recipe = self.recipe.borrow_mut().take().ok_or_else(|| {
                    "a certificate was looked at while it was being made".to_string()
                })?;
                make(recipe)
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

fn make(recipe: Recipe) -> Result<Pems, String> {
    let key = new_rsa()?;
    let parent = match recipe.parent {
        None => None,
        Some(Parent::Read(signer)) => Some(*signer),
        Some(Parent::Ours(ca)) => {
            let ca = ca
                .as_any()
                .and_then(|a| a.downcast_ref::<Certificate>())
                .ok_or("the CA is not a certificate")?;
            Some(signer(ca)?)
        }
    };
    create(&recipe.spec, key, parent.as_ref(), recipe.now)
}

const TYPE: &str = "sprig.certificate";

/// The exported fields of a Go struct a template value holds, in declaration order, for the
/// encoders that walk them (JSON, TOML, YAML); `None` for other objects.
pub fn struct_fields(o: &dyn Object) -> Option<Vec<(&'static str, Value)>> {
    let c = o.as_any()?.downcast_ref::<Certificate>()?;
    let (cert, key) = c
        .pems()
        .map_or(("", ""), |p| (p.cert.as_str(), p.key_pem.as_str()));
    Some(vec![("Cert", Value::str(cert)), ("Key", Value::str(key))])
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        TYPE
    }
    /// `None` (the executor's "can't evaluate field") only if making the certificate failed,
    /// which takes the system's random source failing.
    fn field(&self, name: &str) -> Option<Value> {
        let pems = self.pems().ok()?;
        match name {
            "Cert" => Some(Value::str(&pems.cert)),
            "Key" => Some(Value::str(&pems.key_pem)),
            _ => None,
        }
    }
    fn display(&self) -> String {
        match self.pems() {
            Ok(p) => format!("{{{} {}}}", p.cert, p.key_pem),
            Err(e) => format!("{{{e}}}"),
        }
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn json_value(&self) -> Option<Value> {
        Some(Value::map(
            struct_fields(self)?
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ))
    }
}

/// Go's `pkix.Name{CommonName: cn}`: PrintableString when it can, UTF8String otherwise.
fn name(cn: &str) -> Vec<u8> {
    let printable = cn
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c));
    let value = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[tlv(0x31, &seq(&[oid(&[2, 5, 4, 3]), value]))])
}

fn time(secs: i64) -> Vec<u8> {
    let t = gotmpl::sprig::dates::Time {
        secs,
        nanos: 0,
        offset: 0,
    };
    let year: i64 = t.format("2006").parse().unwrap_or(2000);
    if (1950..2050).contains(&year) {
        tlv(0x17, t.format("060102150405Z").as_bytes())
    } else {
        tlv(0x18, t.format("20060102150405Z").as_bytes())
    }
}

fn extension(id: &[u64], critical: bool, value: Vec<u8>) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(tlv(0x01, &[0xff]));
    }
    parts.push(tlv(0x04, &value));
    seq(&parts)
}

struct Spec {
    cn: String,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

/// The issuing side: the parent certificate's subject, key id and public key, and its key.
struct Signer {
    subject: Vec<u8>,
    ski: Vec<u8>,
    spki: Vec<u8>,
    key: Key,
}

/// Sprig's `generateSignedCertificateWithKeyInternal` reading of the CA, with its words.
fn signer(ca: &Certificate) -> Result<Signer, String> {
    let ca = ca.pems()?;
    let Some((_, der)) = pem_decode(&ca.cert) else {
        return Err("unable to decode certificate".into());
    };
    let parts = parse_certificate(&der)
        .ok_or("error parsing certificate: decodedSignerCert.Bytes: x509: malformed certificate")?;
    let key = Key::parse_pem(&ca.key_pem).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Signer {
        subject: parts.subject,
        ski: parts.ski,
        spki: parts.spki,
        key,
    })
}

/// Go's `CreateCertificate` of Sprig's template for `key`, signed by `parent` (or itself).
fn create(spec: &Spec, key: Key, parent: Option<&Signer>, now: i64) -> Result<Pems, String> {
    let err = |e: String| format!("error creating certificate: {e}");
    let signing_key = parent.map_or(&key, |p| &p.key);
    // Go checks the signer first, then the public key it certifies.
    let alg = signing_key.algorithm().map_err(err)?;
    let spki = key.spki().map_err(err)?;
    let serial: [u8; 16] = rand::random();
    let subject = name(&spec.cn);
    let issuer = parent.map_or(subject.clone(), |p| p.subject.clone());
    let mut exts = Vec::new();
    let (usage, unused) = if spec.is_ca { (0xa4, 2) } else { (0xa0, 5) };
    exts.push(extension(
        &[2, 5, 29, 15],
        true,
        bit_string(&[usage], unused),
    ));
    {
        // Sprig's base template has both extended usages, and its CA keeps them.
        exts.push(extension(
            &[2, 5, 29, 37],
            false,
            seq(&[
                oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
                oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
            ]),
        ));
    }
    let constraints = if spec.is_ca {
        seq(&[tlv(0x01, &[0xff])])
    } else {
        seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, constraints));
    if spec.is_ca {
        // The subjectPublicKey bits, without the BIT STRING's unused-bits byte.
        let bits = public_key_bits(&spki).ok_or_else(|| err("x509: bad public key".into()))?;
        let ski = Sha256::digest(bits)[..20].to_vec();
        exts.push(extension(&[2, 5, 29, 14], false, tlv(0x04, &ski)));
    }
    if let Some(p) = parent.filter(|p| !p.ski.is_empty() && p.subject != subject) {
        exts.push(extension(&[2, 5, 29, 35], false, seq(&[tlv(0x80, &p.ski)])));
    }
    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let mut names: Vec<Vec<u8>> = spec.dns.iter().map(|d| tlv(0x82, d.as_bytes())).collect();
        names.extend(spec.ips.iter().map(|ip| tlv(0x87, ip)));
        exts.push(extension(&[2, 5, 29, 17], false, seq(&names)));
    }
    if let Some(p) = parent {
        if signing_key.spki().ok().as_deref() != Some(&p.spki[..]) {
            return Err(err(
                "x509: provided PrivateKey doesn't match parent's PublicKey".into(),
            ));
        }
    }
    let tbs = seq(&[
        tlv(0xa0, &integer(&[2])),
        integer(&serial),
        alg.clone(),
        issuer,
        seq(&[
            time(now),
            time(now.saturating_add(spec.days.saturating_mul(86400))),
        ]),
        subject,
        spki,
        tlv(0xa3, &seq(&exts)),
    ]);
    let sig = signing_key.sign(&tbs).map_err(err)?;
    let der = seq(&[tbs, alg, bit_string(&sig, 0)]);
    Ok(Pems {
        cert: pem("CERTIFICATE", &der),
        key_pem: key.to_pem(),
    })
}

/// Now, in Unix seconds, as the certificate's validity starts.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The key bits inside a DER SubjectPublicKeyInfo.
fn public_key_bits(spki: &[u8]) -> Option<&[u8]> {
    let (info, _) = super::der::read(spki)?;
    let (_, rest) = super::der::read(info.body)?;
    let (bits, _) = super::der::read(rest)?;
    bits.body.get(1..)
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Nil | Value::Invalid => Ok(Vec::new()),
        Value::List(_, items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.to_string()),
                other => Err(format!(
                    "error processing {what}: {} is not a string",
                    gotmpl::gofmt::format_v(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "error processing {what}: {} is not a list",
            gotmpl::gofmt::format_v(other)
        )),
    }
}

fn ips(v: &Value) -> Result<Vec<Vec<u8>>, String> {
    let list = match v {
        Value::List(_, items) => items.as_slice(),
        _ => &[],
    };
    list.iter()
        .map(|ip| match ip {
            Value::String(s) => Ok(s.to_string()),
            other => Err(format!(
                "error parsing ip: {} is not a string",
                gotmpl::gofmt::format_v(other)
            )),
        })
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|s| match s.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => Ok(a.octets().to_vec()),
            Ok(std::net::IpAddr::V6(a)) => Ok(a.octets().to_vec()),
            Err(_) => Err(format!("error parsing ip: {s}")),
        })
        .collect()
}

fn days(v: &Value) -> i64 {
    v.as_int().unwrap_or(0)
}

/// A leaf certificate's template from `(cn, ips, alternateDNS, daysValid, ...)`.
fn leaf(a: &[Value]) -> Result<Spec, String> {
    Ok(Spec {
        cn: a[0].as_str().unwrap_or_default().to_string(),
        ips: ips(&a[1])?,
        dns: strings(&a[2], "alternate dns name")?,
        days: days(&a[3]),
        is_ca: false,
    })
}

fn ca_spec(a: &[Value]) -> Spec {
    Spec {
        cn: a[0].as_str().unwrap_or_default().to_string(),
        ips: Vec::new(),
        dns: Vec::new(),
        days: days(&a[1]),
        is_ca: true,
    }
}

fn wrap(c: Result<Pems, String>) -> Result<Value, String> {
    c.map(|p| Value::Object(Rc::new(Certificate::made(p.cert, p.key_pem))))
}

/// A certificate on a new RSA key, made when first looked at.
fn later(spec: Spec, parent: Option<Parent>) -> Value {
    Value::Object(Rc::new(Certificate::later(Recipe {
        spec,
        now: now(),
        parent,
    })))
}

fn new_rsa() -> Result<Key, String> {
    super::rsa_keygen::generate(2048)
        .map(|k| Key::Rsa(Box::new(k)))
        .map_err(|e| format!("error generating rsa key: {e}"))
}

fn pem_key(v: &Value) -> Result<Key, String> {
    Key::parse_pem(v.as_str().unwrap_or_default()).map_err(|e| format!("parsing private key: {e}"))
}

fn ca_arg(v: &Value) -> Result<(&Rc<dyn Object>, &Certificate), String> {
    if matches!(v, Value::Nil | Value::Invalid) {
        return Err(format!("cannot assign nil to {TYPE}"));
    }
    match v {
        Value::Object(o) => o
            .as_any()
            .and_then(|x| x.downcast_ref::<Certificate>())
            .map(|c| (o, c)),
        _ => None,
    }
    .ok_or_else(|| format!("a CA that is not a {TYPE} {}", super::funcs::UNSUPPORTED))
}

/// The CA of `genSignedCert`: one this render made on a new key is trusted to sign when the
/// leaf is made; any other is read now, so that its errors come from the call, as in Sprig.
fn parent(v: &Value) -> Result<Parent, String> {
    let (rc, ca) = ca_arg(v)?;
    if ca.on_new_key {
        return Ok(Parent::Ours(Rc::clone(rc)));
    }
    let signer = signer(ca)?;
    // What `create` would refuse about this signer, refused at the call as Sprig does.
    let err = |e: String| format!("error creating certificate: {e}");
    signer.key.algorithm().map_err(err)?;
    if signer.key.spki().ok().as_deref() != Some(&signer.spki[..]) {
        return Err(err(
            "x509: provided PrivateKey doesn't match parent's PublicKey".into(),
        ));
    }
    Ok(Parent::Read(Box::new(signer)))
}

/// Sprig's `buildCustomCertificate`, with its words.
fn build_custom(b64cert: &str, b64key: &str) -> Result<Pems, String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let cert = b64
        .decode(b64cert)
        .map_err(|_| "unable to decode base64 certificate")?;
    let key = b64
        .decode(b64key)
        .map_err(|_| "unable to decode base64 private key")?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let Some((_, der)) = pem_decode(&cert) else {
        return Err("unable to decode certificate".into());
    };
    if parse_certificate(&der).is_none() {
        return Err(
            "error parsing certificate: decodedCert.Bytes: x509: malformed certificate".into(),
        );
    }
    Key::parse_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Pems { cert, key_pem: key })
}

pub fn register(m: &mut gotmpl::FuncMap) {
    use Type::{Any, Int, String as Str};
    let ca = Type::Object(TYPE);
    m.insert(
        "genCA",
        Func::pure(Signature::fixed(&[Str, Int]), |a| {
            Ok(later(ca_spec(&a), None))
        }),
    );
    m.insert(
        "genCAWithKey",
        Func::pure(Signature::fixed(&[Str, Int, Str]), |a| {
            wrap(create(&ca_spec(&a), pem_key(&a[2])?, None, now()))
        }),
    );
    m.insert(
        "genSelfSignedCert",
        Func::pure(Signature::fixed(&[Str, Any, Any, Int]), |a| {
            Ok(later(leaf(&a)?, None))
        }),
    );
    m.insert(
        "genSelfSignedCertWithKey",
        Func::pure(Signature::fixed(&[Str, Any, Any, Int, Str]), |a| {
            wrap(create(&leaf(&a)?, pem_key(&a[4])?, None, now()))
        }),
    );
    m.insert(
        "genSignedCert",
        Func::pure(Signature::fixed(&[Str, Any, Any, Int, ca]), |a| {
            let parent = parent(&a[4])?;
            Ok(later(leaf(&a)?, Some(parent)))
        }),
    );
    m.insert(
        "genSignedCertWithKey",
        Func::pure(Signature::fixed(&[Str, Any, Any, Int, ca, Str]), |a| {
            let key = pem_key(&a[5])?;
            let (_, ca) = ca_arg(&a[4])?;
            let parent = signer(ca)?;
            wrap(create(&leaf(&a)?, key, Some(&parent), now()))
        }),
    );
    m.insert(
        "buildCustomCert",
        Func::pure(Signature::fixed(&[Str, Str]), |a| {
            wrap(build_custom(
                a[0].as_str().unwrap_or_default(),
                a[1].as_str().unwrap_or_default(),
            ))
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificate functions run no template.
    struct NoTemplates;
    impl gotmpl::Context for NoTemplates {
        fn execute_template(&mut self, _: &str, _: Value) -> Result<String, gotmpl::Error> {
            unreachable!("not called by the certificate functions")
        }
        fn execute_text(&mut self, _: &str, _: &str, _: Value) -> Result<String, gotmpl::Error> {
            unreachable!("not called by the certificate functions")
        }
        fn depth(&self) -> usize {
            0
        }
    }

    fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
        let mut m = gotmpl::FuncMap::new();
        register(&mut m);
        let f = m.get(name).expect("registered");
        (f.imp)(&mut NoTemplates, args)
    }

    fn cert(v: &Value) -> &Certificate {
        match v {
            Value::Object(o) => o.as_any().and_then(|a| a.downcast_ref()).expect("a cert"),
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn a_certificate_on_a_new_key_is_made_when_first_looked_at() {
        let ca = call("genCA", vec![Value::str("ca"), Value::Int(3)]).expect("genCA");
        assert!(cert(&ca).made.get().is_none(), "no key made by the call");
        let leaf = call(
            "genSignedCert",
            vec![
                Value::str("leaf"),
                Value::Nil,
                Value::Nil,
                Value::Int(3),
                ca.clone(),
            ],
        )
        .expect("genSignedCert");
        assert!(cert(&ca).made.get().is_none() && cert(&leaf).made.get().is_none());
        let pem = cert(&leaf).field("Cert").expect("Cert");
        assert!(pem
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----")));
        assert!(
            cert(&ca).made.get().is_some(),
            "the leaf's CA was made for it"
        );
        assert_eq!(cert(&ca).field("Nope").map(|_| ()), None);
    }

    #[test]
    fn a_ca_ferry_did_not_make_is_still_read_at_the_call() {
        use base64::Engine;
        let b64 = |s: &str| Value::str(&base64::engine::general_purpose::STANDARD.encode(s));
        let ca = call("genCA", vec![Value::str("ca"), Value::Int(3)]).expect("genCA");
        let cert_pem = cert(&ca).field("Cert").expect("Cert");
        // A certificate with a key that is not its own: buildCustomCert accepts it, and the
        // mismatch is found when signing, which happens at genSignedCert's call.
        let other = call("genCA", vec![Value::str("other"), Value::Int(3)]).expect("genCA");
        let other_key = cert(&other).field("Key").expect("Key");
        let custom = call(
            "buildCustomCert",
            vec![
                b64(cert_pem.as_str().unwrap_or_default()),
                b64(other_key.as_str().unwrap_or_default()),
            ],
        )
        .expect("buildCustomCert");
        let e = call(
            "genSignedCert",
            vec![
                Value::str("z"),
                Value::Nil,
                Value::Nil,
                Value::Int(3),
                custom,
            ],
        )
        .expect_err("the parent is read at the call");
        assert_eq!(
            e,
            "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
        );
        let junk = call(
            "buildCustomCert",
            vec![b64("not a certificate"), b64("not a key")],
        );
        assert!(junk.is_err());
    }
}
