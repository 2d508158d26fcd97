//! Tag lists in pages and the bearer token flow. The CNCF distribution registry installed here
//! (2.8) sends every tag at once (the token flow against it is in `images_token`), so
//! this test runs a small HTTP server on loopback that follows the distribution spec for these
//! two things: `GET /v2/NAME/tags/list?n=N&last=T` answers at most N tags after T in lexical
//! order with a `Link: <...>; rel="next"` header while more remain, and every /v2/ request
//! needs a bearer token that `/token` hands out for the right Basic credentials and scope.
//! ferry goes through its real client and CLI; the server records every request.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

mod common;

const USER: &str = "robot";
const PASSWORD: &str = "t0ps3cret";
const TOKEN: &str = "token-for-team-app-pull";

struct Server {
    addr: String,
    log: Arc<Mutex<Vec<String>>>,
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(String, String)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2F", "/")))
        .collect()
}

fn handle(mut stream: TcpStream, addr: &str, tags: &[String], log: &Mutex<Vec<String>>) {
    let Some((target, auth)) = common::read_request_head(&stream) else {
        return;
    };
    log.lock().expect("log").push(format!(
        "{target} [{}]",
        auth.split(' ').next().unwrap_or("")
    ));
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let q = query(q);
    if path == "/token" {
        let ok = auth == format!("Basic {}", b64(&format!("{USER}:{PASSWORD}")))
            && q.get("scope").map(String::as_str) == Some("repository:team/app:pull")
            && q.get("service").map(String::as_str) == Some("test-registry");
        if ok {
            respond(
                &mut stream,
                "200 OK",
                &[],
                &format!("{{\"token\":\"{TOKEN}\"}}"),
            );
        } else {
            respond(
                &mut stream,
                "401 Unauthorized",
                &[],
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
            );
        }
        return;
    }
    if auth != format!("Bearer {TOKEN}") {
        let challenge = format!(
            "Bearer realm=\"http://{addr}/token\",service=\"test-registry\",scope=\"repository:team/app:pull\""
        );
        respond(
            &mut stream,
            "401 Unauthorized",
            &[("WWW-Authenticate".into(), challenge)],
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
        );
        return;
    }
    if path == "/v2/team/app/tags/list" {
        let n: usize = q
            .get("n")
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        let after: Vec<&String> = tags
            .iter()
            .filter(|t| q.get("last").is_none_or(|l| t.as_str() > l.as_str()))
            .collect();
        let page: Vec<&String> = after.iter().take(n).copied().collect();
        let mut headers = Vec::new();
        if after.len() > page.len() {
            let last = page.last().expect("a full page");
            headers.push((
                "Link".to_string(),
                format!("</v2/team/app/tags/list?last={last}&n={n}>; rel=\"next\""),
            ));
        }
        let body = serde_json::json!({"name": "team/app", "tags": page}).to_string();
        respond(&mut stream, "200 OK", &headers, &body);
        return;
    }
    if let Some(tag) = path.strip_prefix("/v2/team/app/manifests/") {
        if tags.iter().any(|t| t == tag) {
            respond(&mut stream, "200 OK", &[], &manifest(tag));
            return;
        }
    }
    respond(
        &mut stream,
        "404 Not Found",
        &[],
        "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}",
    );
}

fn manifest(tag: &str) -> String {
    format!("{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[],\"annotations\":{{\"tag\":\"{tag}\"}}}}")
}

fn start(tags: Vec<String>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (a, l) = (addr.clone(), log.clone());
    let mut tags = tags;
    tags.sort();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            handle(stream, &a, &tags, &l);
        }
    });
    Server { addr, log }
}

#[test]
fn pages_follow_link_headers_with_a_bearer_token() {
    let mut tags: Vec<String> = (0..317)
        .map(|i| format!("1.{}.{}", i / 100, i % 100))
        .collect();
    tags.extend(["main-aaaaaa-17", "main-bbbbbb-9", "latest"].map(String::from));
    let server = start(tags);
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("repo");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(
        root.join("ferry.yaml"),
        format!(
            "apiVersion: ferry.dev/v1alpha1\nkind: Pipeline\nenvironments: {{prod: {{}}}}\napps: {{web: {{path: web}}}}\nimages:\n  app:\n    image: {0}/team/app\n    policy: {{semver: {{range: '>=1.0.0'}}}}\n    digest: true\n  ci:\n    image: {0}/team/app\n    policy: {{numerical: {{}}}}\n    filterTags: {{pattern: '^main-[a-f]+-(?P<n>[0-9]+)$', extract: '$n'}}\n",
            server.addr
        ),
    )
    .expect("write");
    let run = |args: &[&str]| {
        common::registry::ferry(tmp.path())
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .expect("ferry runs")
    };

    // Without credentials the token server refuses: a clear error.
    let out = run(&["images", "scan", "--cache-ttl", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("access denied"), "{err}");

    // With them: every page, in order, each with the token.
    server.log.lock().expect("log").clear();
    let out = run(&[
        "images",
        "scan",
        "--cache-ttl",
        "0",
        "--page-size",
        "50",
        "--output",
        "json",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let app = &v["decisions"][0];
    assert_eq!(app["policy"], "app");
    assert_eq!(app["tags"], 320);
    assert_eq!(app["pages"], 7, "320 tags at 50 a page");
    assert_eq!(
        app["latest"], "1.3.16",
        "the newest version is on the last page"
    );
    use sha2::Digest;
    let want = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(manifest("1.3.16").as_bytes()))
    );
    assert_eq!(app["digest"], want.as_str());
    assert_eq!(
        v["decisions"][1]["latest"], "main-aaaaaa-17",
        "17 > 9 as numbers"
    );

    let log = server.log.lock().expect("log").clone();
    let pages: Vec<&String> = log.iter().filter(|l| l.contains("/tags/list")).collect();
    // One tag list for both policies (same repository): the first try without a token, then
    // seven pages with it.
    assert_eq!(pages.len(), 8, "{log:#?}");
    assert!(
        pages[0].ends_with("[]") && pages[1].starts_with("/v2/team/app/tags/list?n=50 [Bearer]"),
        "{log:#?}"
    );
    assert!(
        pages[2].contains("?last=") && pages[2].contains("&n=50"),
        "{log:#?}"
    );
    assert!(
        pages[1..].iter().all(|p| p.ends_with("[Bearer]")),
        "{log:#?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("/token")).count(),
        1,
        "the token is reused: {log:#?}"
    );
}
