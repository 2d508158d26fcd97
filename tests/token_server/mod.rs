//! A token server for the Docker registry token flow, on loopback, and the CNCF distribution
//! registry configured to trust it (`auth: token`).
//!
//! No token server can be installed here from the package registries (Debian, PyPI, npm,
//! crates.io carry none that is kept up), so this one follows the specification
//! (distribution's `docs/spec/auth/token.md` and `jwt.md`): `GET /token?service=S&scope=...`
//! with optional HTTP Basic credentials answers `{"token", "access_token", "expires_in",
//! "issued_at"}`, where the token is a JWT signed with ES256 whose `x5c` header carries the
//! signing certificate, `iss`/`aud` name the issuer and the service, and `access` grants the
//! intersection of what was asked and what the account may do. A wrong password gets 401; no
//! credentials get an anonymous token that grants nothing. The registry is the real one: it
//! checks the certificate against its `rootcertbundle`, the signature, issuer, audience,
//! expiry and the `access` claim, so everything ferry reads passed distribution's checks.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const SERVICE: &str = "ferry-test-registry";
pub const ISSUER: &str = "ferry-test-token-issuer";

/// An account of the token server: its password and the actions it may take per repository.
pub struct Account {
    pub user: &'static str,
    pub password: &'static str,
    pub grants: &'static [(&'static str, &'static [&'static str])],
}

/// A key and the self-signed certificate the registry trusts for it.
pub struct TokenSigner {
    key: SigningKey,
    cert_der: Vec<u8>,
    pub cert_pem: String,
}

impl TokenSigner {
    pub fn new(cn: &str) -> TokenSigner {
        let key = SigningKey::random(&mut rand_core::OsRng);
        use p256::pkcs8::EncodePrivateKey;
        let pkcs8 = key.to_pkcs8_der().expect("pkcs8");
        let pair = rcgen::KeyPair::try_from(pkcs8.as_bytes()).expect("rcgen key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let cert = params.self_signed(&pair).expect("self-signed certificate");
        TokenSigner {
            key,
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
        }
    }

    /// A compact JWS: header.claims.signature, ES256 (r || s, 64 bytes).
    pub fn token(&self, sub: &str, access: &[(String, Vec<String>)], ttl: i64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [STANDARD.encode(&self.cert_der)],
        });
        let access: Vec<serde_json::Value> = access
            .iter()
            .map(|(name, actions)| {
                serde_json::json!({"type": "repository", "name": name, "actions": actions})
            })
            .collect();
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": sub,
            "aud": SERVICE,
            "exp": now + ttl,
            "nbf": now - 5,
            "iat": now,
            "jti": format!("{now}-{}", rand_core::RngCore::next_u64(&mut rand_core::OsRng)),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

pub struct TokenServer {
    pub addr: String,
    /// One line per request: `USER|- SCOPE... -> GRANTED` or `USER refused`.
    pub log: Arc<Mutex<Vec<String>>>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn serve(
    mut stream: TcpStream,
    signer: &TokenSigner,
    accounts: &[Account],
    log: &Mutex<Vec<String>>,
) {
    let Some((target, auth)) = crate::common::read_request_head(&stream) else {
        return;
    };
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    if path != "/token" {
        respond(&mut stream, "404 Not Found", "{}");
        return;
    }
    let mut service = String::new();
    let mut scopes = Vec::new();
    for kv in q.split('&') {
        if let Some((k, v)) = kv.split_once('=') {
            match k {
                "service" => service = percent_decode(v),
                "scope" => scopes.push(percent_decode(v)),
                _ => {}
            }
        }
    }
    // Who is asking: nobody, an account with the right password, or refused.
    let account = match auth.strip_prefix("Basic ") {
        None => None,
        Some(b) => {
            let pair = STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .unwrap_or_default();
            let (u, p) = pair.split_once(':').unwrap_or(("", ""));
            match accounts.iter().find(|a| a.user == u && a.password == p) {
                Some(a) => Some(a),
                None => {
                    log.lock()
                        .expect("log")
                        .push(format!("{u} refused ({scopes:?})"));
                    respond(
                        &mut stream,
                        "401 Unauthorized",
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                    );
                    return;
                }
            }
        }
    };
    if service != SERVICE {
        respond(
            &mut stream,
            "400 Bad Request",
            r#"{"errors":[{"code":"INVALID","message":"unknown service"}]}"#,
        );
        return;
    }
    // scope = repository:NAME:ACTION[,ACTION]; grant what the account may of what was asked.
    let mut granted: Vec<(String, Vec<String>)> = Vec::new();
    for s in &scopes {
        let mut parts = s.splitn(3, ':');
        let (Some("repository"), Some(name), Some(actions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let allowed: &[&str] = account
            .and_then(|a| a.grants.iter().find(|(n, _)| *n == name))
            .map(|(_, acts)| *acts)
            .unwrap_or(&[]);
        let acts: Vec<String> = actions
            .split(',')
            .filter(|a| allowed.contains(a))
            .map(str::to_string)
            .collect();
        granted.push((name.to_string(), acts));
    }
    let who = account.map_or("-", |a| a.user);
    log.lock()
        .expect("log")
        .push(format!("{who} {scopes:?} -> {granted:?}"));
    let token = signer.token(who, &granted, 300);
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": 300,
        "issued_at": "2026-01-01T00:00:00Z",
    })
    .to_string();
    respond(&mut stream, "200 OK", &body);
}

impl TokenServer {
    pub fn start(signer: Arc<TokenSigner>, accounts: Vec<Account>) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &signer, &accounts, &l);
            }
        });
        TokenServer { addr, log }
    }

    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().expect("log"))
    }
}

/// The real registry with `auth: token`, stopped (by its own pid) when dropped.
pub struct TokenRegistry {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

/// The HTTP status of `GET path` with an optional Authorization header value.
pub fn status_of(addr: &str, path: &str, auth: Option<&str>) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace().nth(1)?.parse().ok()
}

impl TokenRegistry {
    pub fn start(bin: &Path, realm: &str, cert_pem: &str) -> TokenRegistry {
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("token-root.pem");
        std::fs::write(&bundle, cert_pem).expect("write bundle");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: {addr}\n  secret: test-only-secret\nauth:\n  token:\n    realm: http://{realm}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {bundle}\n",
            data = dir.path().join("data").display(),
            bundle = bundle.display(),
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry starts");
        let mut r = TokenRegistry {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if status_of(&r.addr, "/v2/", None) == Some(401) {
                break;
            }
            if Instant::now() > deadline || r.child.try_wait().ok().flatten().is_some() {
                let log =
                    std::fs::read_to_string(r._dir.path().join("registry.log")).unwrap_or_default();
                panic!("the registry with token auth did not come up:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `KEY=VALUE` pairs of a `WWW-Authenticate: Bearer ...` header, for assertions.
pub fn challenge_of(addr: &str, path: &str) -> BTreeMap<String, String> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let line = out
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
        .unwrap_or("")
        .to_string();
    let rest = line.split_once("Bearer ").map_or("", |(_, r)| r);
    rest.split("\",")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim_matches('"').to_string()))
        .collect()
}
