//! Sprig's private keys: `genPrivateKey` (RSA 4096, DSA L2048N256, ECDSA P-256, Ed25519, in
//! the PEM blocks Sprig writes: PKCS#1, Sprig's own DSA sequence, SEC 1, PKCS#8) and the
//! reading of a key PEM for the `...WithKey` functions, with Sprig's error words. Signing and
//! public keys are what Go's `x509.CreateCertificate` uses for each kind.

use super::der::{bit_string, children, integer, octets, oid, pem, pem_decode, read, seq, tlv};
use super::funcs::UNSUPPORTED;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};

pub enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
    Ed(ed25519_dalek::SigningKey),
    Dsa(Box<dsa::SigningKey>),
}

const ED25519: &[u64] = &[1, 3, 101, 112];
const P256: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];

impl Key {
    /// A new key of Sprig's `typ`; the error is the string Sprig returns in its place.
    pub fn generate(typ: &str) -> Result<Key, String> {
        let mut rng = rand::thread_rng();
        match typ {
            "" | "rsa" => super::rsa_keygen::generate(4096)
                .map(|k| Key::Rsa(Box::new(k)))
                .map_err(|e| format!("failed to generate private key: {e}")),
            "dsa" => {
                let c = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
                Ok(Key::Dsa(Box::new(dsa::SigningKey::generate(&mut rng, c))))
            }
            "ecdsa" => Ok(Key::Ec(p256::SecretKey::random(&mut rng))),
            "ed25519" => Ok(Key::Ed(ed25519_dalek::SigningKey::generate(&mut rng))),
            other => Err(format!("Unknown type {other}")),
        }
    }

    /// Sprig's `pemBlockForKey`.
    pub fn to_pem(&self) -> String {
        match self {
            Key::Rsa(k) => match k.to_pkcs1_der() {
                Ok(d) => pem("RSA PRIVATE KEY", d.as_bytes()),
                Err(_) => String::new(),
            },
            Key::Dsa(k) => {
                let vk = k.verifying_key();
                let c = vk.components();
                let der = seq(&[
                    integer(&[]),
                    integer(&c.p().to_bytes_be()),
                    integer(&c.q().to_bytes_be()),
                    integer(&c.g().to_bytes_be()),
                    integer(&vk.y().to_bytes_be()),
                    integer(&k.x().to_bytes_be()),
                ]);
                pem("DSA PRIVATE KEY", &der)
            }
            Key::Ec(k) => {
                // Go's MarshalECPrivateKey names the curve, which p256's SEC 1 writer omits.
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                let point = k.public_key().to_encoded_point(false);
                let der = seq(&[
                    integer(&[1]),
                    octets(&k.to_bytes()),
                    tlv(0xa0, &oid(P256)),
                    tlv(0xa1, &bit_string(point.as_bytes(), 0)),
                ]);
                pem("EC PRIVATE KEY", &der)
            }
            Key::Ed(k) => {
                let der = seq(&[
                    integer(&[]),
                    seq(&[oid(ED25519)]),
                    octets(&octets(&k.to_bytes())),
                ]);
                pem("PRIVATE KEY", &der)
            }
        }
    }

    /// Sprig's `parsePrivateKeyPEM`, with its error words.
    pub fn parse_pem(text: &str) -> Result<Key, String> {
        let Some((label, der)) = pem_decode(text) else {
            return Err("no PEM data in input".into());
        };
        if label == "PRIVATE KEY" {
            return parse_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(kind) = label.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {label}"));
        };
        match kind {
            "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map(|k| Key::Rsa(Box::new(k)))
                .map_err(|_| {
                    "parsing RSA private key from PEM: x509: failed to parse private key".into()
                }),
            "EC" => parse_sec1(&der).map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" => parse_dsa(&der)
                .ok_or_else(|| "parsing DSA private key from PEM: asn1: structure error".into()),
            _ => Err(format!("invalid private key type {label}")),
        }
    }

    /// The DER SubjectPublicKeyInfo of the public half (Go's `marshalPublicKey`).
    pub fn spki(&self) -> Result<Vec<u8>, String> {
        match self {
            Key::Rsa(k) => k
                .to_public_key()
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| e.to_string()),
            Key::Ec(k) => k
                .public_key()
                .to_public_key_der()
                .map(|d| d.as_bytes().to_vec())
                .map_err(|e| e.to_string()),
            Key::Ed(k) => Ok(seq(&[
                seq(&[oid(ED25519)]),
                bit_string(k.verifying_key().as_bytes(), 0),
            ])),
            Key::Dsa(_) => Err("x509: unsupported public key type: *dsa.PublicKey".into()),
        }
    }

    /// The signature algorithm Go's `CreateCertificate` picks for this key; DSA keys are no
    /// `crypto.Signer` in Go.
    pub fn algorithm(&self) -> Result<Vec<u8>, String> {
        match self {
            Key::Rsa(_) => Ok(seq(&[oid(&[1, 2, 840, 113_549, 1, 1, 11]), tlv(0x05, &[])])),
            Key::Ec(_) => Ok(seq(&[oid(&[1, 2, 840, 10045, 4, 3, 2])])),
            Key::Ed(_) => Ok(seq(&[oid(ED25519)])),
            Key::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }

    /// The signature of `tbs` under [`Key::algorithm`].
    pub fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Key::Rsa(k) => {
                let s = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new((**k).clone());
                Ok(s.try_sign(tbs).map_err(|e| e.to_string())?.to_vec())
            }
            Key::Ec(k) => {
                let s = p256::ecdsa::SigningKey::from(k);
                let sig: p256::ecdsa::Signature = s.try_sign(tbs).map_err(|e| e.to_string())?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Key::Ed(k) => Ok(k
                .try_sign(tbs)
                .map_err(|e| e.to_string())?
                .to_bytes()
                .to_vec()),
            Key::Dsa(_) => {
                Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        }
    }
}

fn parse_pkcs8(der: &[u8]) -> Result<Key, String> {
    let malformed = || {
        "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
            .to_string()
    };
    let (info, _) = read(der).ok_or_else(malformed)?;
    let items = children(info.body).ok_or_else(malformed)?;
    let alg = items
        .get(1)
        .and_then(|a| children(a.body))
        .and_then(|a| a.first().copied())
        .ok_or_else(malformed)?;
    match alg.body {
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] => {
            rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map(|k| Key::Rsa(Box::new(k)))
                .map_err(|_| "x509: failed to parse RSA private key embedded in PKCS#8".into())
        }
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => p256::SecretKey::from_pkcs8_der(der)
            .map(Key::Ec)
            .map_err(|_| format!("an EC key on a curve other than P-256 {UNSUPPORTED}")),
        [0x2b, 0x65, 0x70] => {
            let inner = items
                .get(2)
                .and_then(|o| read(o.body))
                .map(|(t, _)| t.body)
                .ok_or_else(malformed)?;
            let seed: [u8; 32] = inner.try_into().map_err(|_| {
                format!(
                    "x509: failed to parse private key embedded in PKCS#8: ed25519: invalid private key length: {}",
                    inner.len()
                )
            })?;
            Ok(Key::Ed(ed25519_dalek::SigningKey::from_bytes(&seed)))
        }
        _ => Err(format!("a PKCS#8 key of this algorithm {UNSUPPORTED}")),
    }
}

fn parse_sec1(der: &[u8]) -> Result<Key, String> {
    const P256_DER: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let malformed = || "x509: failed to parse EC private key".to_string();
    let (s, _) = read(der).ok_or_else(malformed)?;
    let items = children(s.body).ok_or_else(malformed)?;
    let curve = items
        .iter()
        .find(|t| t.tag == 0xa0)
        .and_then(|t| read(t.body))
        .map(|(o, _)| o.body);
    if curve.is_some_and(|c| c != P256_DER) {
        return Err(format!(
            "an EC key on a curve other than P-256 {UNSUPPORTED}"
        ));
    }
    p256::SecretKey::from_sec1_der(der)
        .map(Key::Ec)
        .map_err(|_| malformed())
}

fn parse_dsa(der: &[u8]) -> Option<Key> {
    let (s, _) = read(der)?;
    let items = children(s.body)?;
    let ints: Vec<rsa::BigUint> = items
        .iter()
        .map(|t| super::der::uint(t).map(|b| rsa::BigUint::from_bytes_be(&b)))
        .collect::<Option<_>>()?;
    let [_, p, q, g, y, x] = <[rsa::BigUint; 6]>::try_from(ints).ok()?;
    let c = dsa::Components::from_components(p, q, g).ok()?;
    let vk = dsa::VerifyingKey::from_components(c, y).ok()?;
    dsa::SigningKey::from_components(vk, x)
        .ok()
        .map(|k| Key::Dsa(Box::new(k)))
}
