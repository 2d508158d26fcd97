//! Sprig's certificate functions (`genCA`, `genSelfSignedCert`, `genSignedCert`): an RSA-2048
//! key and an X.509 certificate shaped as Go's `x509.CreateCertificate` writes Sprig's
//! templates (key usages, basic constraints, subject and authority key ids from the first 160
//! bits of SHA-256 as Go 1.25 does, alternative names), PEM-encoded. The output is random, as
//! in helm: only its shape can be compared.

use gotmpl::{Func, Object, Signature, Type, Value};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::sha2::{Digest, Sha256};
use rsa::signature::{SignatureEncoding, Signer};
use std::rc::Rc;

/// Sprig's `certificate`: `.Cert` and `.Key` in PEM, plus what signing with it needs.
#[derive(Debug)]
pub struct Certificate {
    cert: String,
    key_pem: String,
    key: rsa::RsaPrivateKey,
    subject: Vec<u8>,
    ski: Vec<u8>,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(&self.cert)),
            "Key" => Some(Value::str(&self.key_pem)),
            _ => None,
        }
    }
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key_pem)
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 128 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut chunk = vec![(a & 0x7f) as u8];
        let mut v = a >> 7;
        while v > 0 {
            chunk.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

/// A non-negative DER INTEGER from big-endian bytes.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|&x| x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

fn bit_string(bytes: &[u8], unused: u8) -> Vec<u8> {
    let mut body = vec![unused];
    body.extend_from_slice(bytes);
    tlv(0x03, &body)
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
    let t = gotmpl::sprig::dates::Time { secs, nanos: 0 };
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

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

struct Spec<'a> {
    cn: &'a str,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn create(spec: &Spec<'_>, parent: Option<&Certificate>) -> Result<Certificate, String> {
    let mut rng = rand::thread_rng();
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?;
    let spki = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?
        .as_bytes()
        .to_vec();
    let pkcs1 = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&key.to_public_key())
        .map_err(|e| e.to_string())?;
    let serial: [u8; 16] = rand::random();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let subject = name(spec.cn);
    let issuer = parent.map_or(subject.clone(), |p| p.subject.clone());
    let sha_alg = seq(&[oid(&[1, 2, 840, 113_549, 1, 1, 11]), tlv(0x05, &[])]);
    let mut exts = Vec::new();
    let (usage, unused) = if spec.is_ca { (0xa4, 2) } else { (0xa0, 5) };
    exts.push(extension(
        &[2, 5, 29, 15],
        true,
        bit_string(&[usage], unused),
    ));
    if !spec.is_ca {
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
    let ski: Vec<u8> = if spec.is_ca {
        Sha256::digest(pkcs1.as_bytes())[..20].to_vec()
    } else {
        Vec::new()
    };
    if !ski.is_empty() {
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
    let tbs = seq(&[
        tlv(0xa0, &integer(&[2])),
        integer(&serial),
        sha_alg.clone(),
        issuer,
        seq(&[time(now), time(now + spec.days * 86400)]),
        subject.clone(),
        spki,
        tlv(0xa3, &seq(&exts)),
    ]);
    let signer_key = parent.map_or(&key, |p| &p.key);
    let signing = rsa::pkcs1v15::SigningKey::<Sha256>::new(signer_key.clone());
    let sig = signing.try_sign(&tbs).map_err(|e| e.to_string())?.to_vec();
    let der = seq(&[tbs, sha_alg, bit_string(&sig, 0)]);
    let key_der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
    Ok(Certificate {
        cert: pem("CERTIFICATE", &der),
        key_pem: pem("RSA PRIVATE KEY", key_der.as_bytes()),
        key,
        subject,
        ski,
    })
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
    strings(v, "IP addresses")?
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
fn leaf(a: &[Value]) -> Result<Spec<'_>, String> {
    Ok(Spec {
        cn: a[0].as_str().unwrap_or_default(),
        ips: ips(&a[1])?,
        dns: strings(&a[2], "alternate DNS names")?,
        days: days(&a[3]),
        is_ca: false,
    })
}

fn wrap(c: Result<Certificate, String>) -> Result<Value, String> {
    c.map(|c| Value::Object(Rc::new(c)))
}

pub fn register(m: &mut gotmpl::FuncMap) {
    m.insert(
        "genCA",
        Func::pure(Signature::fixed(&[Type::String, Type::Int]), |a| {
            let spec = Spec {
                cn: a[0].as_str().unwrap_or_default(),
                ips: Vec::new(),
                dns: Vec::new(),
                days: days(&a[1]),
                is_ca: true,
            };
            wrap(create(&spec, None))
        }),
    );
    m.insert(
        "genSelfSignedCert",
        Func::pure(
            Signature::fixed(&[Type::String, Type::Any, Type::Any, Type::Int]),
            |a| wrap(create(&leaf(&a)?, None)),
        ),
    );
    m.insert(
        "genSignedCert",
        Func::pure(
            Signature::fixed(&[Type::String, Type::Any, Type::Any, Type::Int, Type::Any]),
            |a| {
                let ca = match &a[4] {
                    Value::Object(o) => o.as_any().and_then(|x| x.downcast_ref::<Certificate>()),
                    _ => None,
                };
                let Some(ca) = ca else {
                    return Err(format!(
                        "genSignedCert: the CA must come from genCA {}",
                        super::funcs::UNSUPPORTED
                    ));
                };
                wrap(create(&leaf(&a)?, Some(ca)))
            },
        ),
    );
}
