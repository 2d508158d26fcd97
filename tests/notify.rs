//! Notifications against real HTTP receivers on loopback: each provider's payload field by
//! field (and as a reviewed snapshot), the webhook's HMAC checked by Python's `hmac`, retries,
//! 429 `Retry-After`, no retry on 4xx, dedup, the bounded queue, bad declarations, and
//! `ferry apply` end to end: commit statuses pending then success/failure, a hanging receiver
//! that cannot hold the apply, and no secret value in any request.

mod apply_fake;
mod common;
mod notify_fake;

use apply_fake::artifact::{sealed_secret, write_artifact};
use apply_fake::server::HttpFake;
use ferry::notify::{Counts, Event, Kind, Notifier, NotifyConfig};
use notify_fake::{Answer, Receiver, Request};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SHA: &str = "3f786850e387550fdab836ed7e6dc881de23001b";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

type Logs = Arc<Mutex<Vec<String>>>;

fn start(yaml: &str) -> (Notifier, Logs) {
    start_with(yaml, 64)
}

fn start_with(yaml: &str, capacity: usize) -> (Notifier, Logs) {
    let cfg = NotifyConfig::from_yaml("test.yaml", yaml)
        .expect("parses")
        .resolve()
        .expect("resolves");
    let logs: Logs = Arc::default();
    let l = logs.clone();
    let n = Notifier::start(
        cfg,
        false,
        capacity,
        Arc::new(move |s: &str| l.lock().expect("lock").push(s.to_string())),
    )
    .expect("starts");
    (n, logs)
}

fn failed_event() -> Event {
    let mut e = Event::new(Kind::Failed, "prod", "prod failed to apply (1 failed)")
        .with_detail("ConfigMap/shop/b: ConfigMap \"b\" is invalid: spec: Required value");
    e.digest = Some("sha256:9a0b".into());
    e.revision = Some(format!("main@sha1:{SHA}"));
    e.counts = Some(Counts {
        created: 2,
        configured: 1,
        unchanged: 0,
        pruned: 0,
        failed: 1,
        unhealthy: 0,
    });
    e.link = Some("https://ci.example.test/run/42".into());
    e
}

fn chat_config(kind: &str, address_file: &Path) -> String {
    format!(
        "providers:\n  - name: chat\n    type: {kind}\n    address: {{file: {}}}\nalerts:\n  - providers: [chat]\n",
        address_file.display()
    )
}

/// Send one event to a chat provider and return the request its receiver got.
fn one_chat_request(kind: &str, path: &str, answer: Answer) -> Request {
    let rx = Receiver::start(answer);
    let tmp = tempfile::tempdir().expect("tmp");
    let addr = write(tmp.path(), "url", &format!("{}{path}\n", rx.url));
    let (n, logs) = start(&chat_config(kind, &addr));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)), "delivered in time");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "{:?}", logs.lock().expect("lock"));
    assert_eq!(n.stats().delivered, 1, "{:?}", logs.lock().expect("lock"));
    let r = reqs[0].clone();
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, path, "the secret URL's path is where it goes");
    assert_eq!(r.header("content-type"), Some("application/json"));
    r
}

#[test]
fn slack_gets_an_attachment_coloured_by_severity() {
    let r = one_chat_request(
        "slack",
        "/services/T0/B0/SLACKTOKEN",
        Answer::code(200, "ok"),
    );
    let v = r.json();
    assert_eq!(v["text"], "prod failed to apply (1 failed)");
    let a = &v["attachments"][0];
    assert_eq!(a["color"], "#a30200", "error is red");
    assert_eq!(a["title"], "prod failed to apply (1 failed)");
    assert_eq!(a["title_link"], "https://ci.example.test/run/42");
    assert_eq!(
        a["fields"][0],
        json!({"title": "Environment", "value": "prod", "short": true})
    );
    assert_eq!(a["fields"][1]["value"], format!("main@sha1:{SHA}"));
    assert_eq!(a["fields"][2]["value"], "sha256:9a0b");
    assert!(a["text"]
        .as_str()
        .expect("text")
        .contains("ConfigMap/shop/b"));
    insta::assert_yaml_snapshot!("slack", v);
}

#[test]
fn teams_gets_an_adaptive_card_in_a_message() {
    let r = one_chat_request(
        "teams",
        "/workflows/abc/triggers/manual/paths/invoke",
        Answer::code(202, ""),
    );
    let v = r.json();
    assert_eq!(v["type"], "message");
    let att = &v["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(
        card["body"][1]["facts"][0],
        json!({"title": "Environment", "value": "prod"})
    );
    assert_eq!(card["actions"][0]["url"], "https://ci.example.test/run/42");
    insta::assert_yaml_snapshot!("teams", v);
}

#[test]
fn a_legacy_teams_connector_gets_a_message_card() {
    let r = one_chat_request(
        "teams-connector",
        "/webhookb2/a@b/IncomingWebhook/c/d",
        Answer::code(200, "1"),
    );
    let v = r.json();
    assert_eq!(v["@type"], "MessageCard");
    assert_eq!(v["@context"], "https://schema.org/extensions");
    assert_eq!(v["themeColor"], "a30200", "error is red");
    assert_eq!(v["summary"], "prod failed to apply (1 failed)");
    let section = &v["sections"][0];
    assert_eq!(section["activityTitle"], "prod failed to apply (1 failed)");
    assert_eq!(
        section["facts"][0],
        json!({"name": "Environment", "value": "prod"})
    );
    assert_eq!(section["facts"][1]["value"], format!("main@sha1:{SHA}"));
    assert!(section["text"]
        .as_str()
        .expect("text")
        .contains("ConfigMap/shop/b"));
    assert_eq!(
        v["potentialAction"][0]["targets"][0]["uri"],
        "https://ci.example.test/run/42"
    );
    insta::assert_yaml_snapshot!("teams_connector", v);
}

#[test]
fn discord_gets_an_embed() {
    let r = one_chat_request(
        "discord",
        "/api/webhooks/1/DISCORDTOKEN",
        Answer::code(204, ""),
    );
    let v = r.json();
    assert_eq!(v["username"], "ferry");
    let e = &v["embeds"][0];
    assert_eq!(e["color"], 0xa30200);
    assert_eq!(e["title"], "prod failed to apply (1 failed)");
    assert_eq!(e["url"], "https://ci.example.test/run/42");
    assert_eq!(
        e["fields"][0],
        json!({"name": "Environment", "value": "prod", "inline": true})
    );
    assert_eq!(e["footer"]["text"], "ferry failed");
    insta::assert_yaml_snapshot!("discord", v);
}

/// Python's hmac module, independent of ferry's Rust implementation, checks the signature.
fn python_verifies(key: &Path, body: &[u8], signature: &str) -> bool {
    let tmp = tempfile::tempdir().expect("tmp");
    let b = write(tmp.path(), "body", "");
    std::fs::write(&b, body).expect("write");
    let script = "import hmac,hashlib,sys\nkey=open(sys.argv[1],'rb').read().strip()\nbody=open(sys.argv[2],'rb').read()\nwant='sha256='+hmac.new(key,body,hashlib.sha256).hexdigest()\nsys.exit(0 if hmac.compare_digest(want,sys.argv[3]) else 1)\n";
    let o = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(key)
        .arg(&b)
        .arg(signature)
        .output()
        .expect("python3 runs");
    o.status.success()
}

#[test]
fn webhook_body_is_the_event_signed_with_hmac_and_custom_headers() {
    let rx = Receiver::start(Answer::code(200, "{}"));
    let tmp = tempfile::tempdir().expect("tmp");
    let key = write(tmp.path(), "hmac", "s3cr3t-hmac-key\n");
    let yaml = format!(
        "providers:\n  - name: hook\n    type: webhook\n    url: {}/ferry\n    hmacKey: {{file: {}}}\n    headers: {{X-Team: platform}}\nalerts:\n  - providers: [hook]\n",
        rx.url,
        key.display()
    );
    let (n, _) = start(&yaml);
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    let r = &rx.requests()[0];
    assert_eq!(r.path, "/ferry");
    assert_eq!(r.header("x-team"), Some("platform"));
    assert_eq!(r.header("x-ferry-event"), Some("failed"));
    let sig = r.header("x-ferry-signature").expect("signed");
    assert!(python_verifies(&key, &r.body, sig), "python accepts {sig}");
    let mut tampered = r.body.clone();
    tampered[0] = b' ';
    assert!(
        !python_verifies(&key, &tampered, sig),
        "a changed body is refused"
    );
    let v = r.json();
    assert_eq!(v["kind"], "failed");
    assert_eq!(v["severity"], "error");
    assert_eq!(v["environment"], "prod");
    assert_eq!(v["revision"], format!("main@sha1:{SHA}"));
    assert_eq!(v["counts"]["created"], 2);
    assert_eq!(
        v["details"][0],
        "ConfigMap/shop/b: ConfigMap \"b\" is invalid: spec: Required value"
    );
    insta::assert_yaml_snapshot!("webhook", v);
}

fn hook_yaml(url: &str, extra: &str) -> String {
    format!(
        "providers:\n  - name: hook\n    type: webhook\n    url: {url}/h\n    backoffMillis: 50\n{extra}alerts:\n  - providers: [hook]\n"
    )
}

#[test]
fn retries_5xx_and_network_errors_not_4xx_and_honours_retry_after() {
    // 500, 500, then 200: three requests, delivered.
    let rx = Receiver::start(Answer::code(200, "ok"));
    rx.script([Answer::code(500, "oops"), Answer::code(503, "busy")]);
    let (n, _) = start(&hook_yaml(&rx.url, "    retries: 3\n"));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    assert_eq!(rx.requests().len(), 3);
    assert_eq!((n.stats().delivered, n.stats().attempts), (1, 3));

    // 429 with Retry-After: 1 is waited for, then sent again.
    let rx = Receiver::start(Answer::code(200, "ok"));
    rx.script([Answer::retry_after(1)]);
    let (n, _) = start(&hook_yaml(&rx.url, ""));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].at.duration_since(reqs[0].at) >= Duration::from_millis(950));

    // 401: once, not retried, and the log says why.
    let rx = Receiver::start(Answer::code(401, "bad token"));
    let (n, logs) = start(&hook_yaml(&rx.url, "    retries: 3\n"));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    assert_eq!(rx.requests().len(), 1);
    assert_eq!(n.stats().failed, 1);
    let log = logs.lock().expect("lock").join("\n");
    assert!(
        log.contains("HTTP 401") && log.contains("not retried"),
        "{log}"
    );

    // Garbage instead of HTTP: retried as a network error, then a clear failure.
    let rx = Receiver::start(Answer::Garbage);
    let (n, logs) = start(&hook_yaml(&rx.url, "    retries: 1\n"));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    assert_eq!(rx.requests().len(), 2);
    let log = logs.lock().expect("lock").join("\n");
    assert!(log.contains("gave up after 2 attempts"), "{log}");

    // Nobody listening: network errors, retried, then given up.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let (n, logs) = start(&hook_yaml(&dead, "    retries: 2\n"));
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));
    assert_eq!((n.stats().failed, n.stats().attempts), (1, 3));
    assert!(logs
        .lock()
        .expect("lock")
        .join("\n")
        .contains("gave up after 3 attempts"));
}

#[test]
fn the_same_news_is_sent_once_then_summarised_every_n_repeats() {
    let rx = Receiver::start(Answer::code(200, "ok"));
    let (n, _) = start(&format!("summaryAfter: 5\n{}", hook_yaml(&rx.url, "")));
    let mut drift = Event::new(
        Kind::DriftBegan,
        "prod",
        "drift: 1 object changed in the cluster",
    );
    drift.revision = Some(format!("main@sha1:{SHA}"));
    for _ in 0..12 {
        n.send(drift.clone());
    }
    let mut ended = drift.clone();
    ended.kind = Kind::DriftEnded;
    ended.summary = "drift ended".into();
    n.send(ended);
    assert!(n.flush(Duration::from_secs(20)));
    let reqs = rx.requests();
    let summaries: Vec<String> = reqs
        .iter()
        .map(|r| r.json()["summary"].as_str().expect("summary").to_string())
        .collect();
    assert_eq!(
        summaries,
        [
            "drift: 1 object changed in the cluster",
            "drift: 1 object changed in the cluster (repeated 5 more times)",
            "drift: 1 object changed in the cluster (repeated 5 more times)",
            "drift ended",
        ]
    );
    assert_eq!(n.stats().suppressed, 9);
}

#[test]
fn a_dead_receiver_never_blocks_the_sender_the_queue_drops_instead() {
    let rx = Receiver::start(Answer::Hang(Duration::from_secs(30)));
    let (n, _) = start_with(
        &hook_yaml(&rx.url, "    timeoutSeconds: 0.5\n    retries: 0\n"),
        2,
    );
    let t = Instant::now();
    for i in 0..20 {
        n.send(Event::new(Kind::Failed, "prod", format!("failure {i}")));
    }
    assert!(t.elapsed() < Duration::from_secs(1), "send never waits");
    assert!(n.stats().dropped >= 15, "{:?}", n.stats());
    assert!(
        !n.flush(Duration::from_millis(300)),
        "a bounded flush gives up"
    );
}

#[test]
fn offline_refuses_every_notification() {
    let rx = Receiver::start(Answer::code(200, "ok"));
    let cfg = NotifyConfig::from_yaml("t", &hook_yaml(&rx.url, ""))
        .expect("parses")
        .resolve()
        .expect("resolves");
    let e = Notifier::start(cfg, true, 4, Arc::new(|_: &str| {}))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("--offline"), "{e}");

    let tmp = tempfile::tempdir().expect("tmp");
    let file = write(tmp.path(), "n.yaml", &hook_yaml(&rx.url, ""));
    let o = common::ferry(&tmp.path().join("cache"))
        .args(["--offline", "notify", "test", "hook", "--notify-config"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--offline"));
    assert!(rx.requests().is_empty(), "nothing sent");
}

fn resolve_err(yaml: &str) -> String {
    match NotifyConfig::from_yaml("ferry.yaml", yaml).and_then(|c| c.resolve()) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_declarations_get_clear_errors_that_hide_secrets() {
    let tmp = tempfile::tempdir().expect("tmp");
    let e = resolve_err("providers:\n  - {name: x, type: pager, url: http://127.0.0.1:9/}\n");
    assert!(
        e.contains("provider \"x\": unknown type \"pager\"") && e.contains("slack"),
        "{e}"
    );

    let bad = write(tmp.path(), "bad", "hxxp//SECRETPART\n");
    let e = resolve_err(&format!(
        "providers:\n  - name: s\n    type: slack\n    address: {{file: {}}}\n",
        bad.display()
    ));
    assert!(
        e.contains("provider \"s\"") && e.contains("not a URL"),
        "{e}"
    );
    assert!(
        !e.contains("SECRETPART"),
        "the secret URL is never shown: {e}"
    );

    let e = resolve_err(
        "providers:\n  - name: gh\n    type: github\n    token: {file: /nonexistent/gh-token}\n",
    );
    assert!(
        e.contains("/nonexistent/gh-token") && e.contains("provider \"gh\" token"),
        "{e}"
    );

    let e = resolve_err(
        "providers:\n  - name: s\n    type: slack\n    url: https://hooks.slack.com/services/X\n",
    );
    assert!(
        e.contains("address: {file"),
        "a chat URL in the declaration is refused: {e}"
    );

    let e = resolve_err("providers: []\nalerts:\n  - providers: [nobody]\n");
    assert!(e.contains("no provider named \"nobody\""), "{e}");

    let e = resolve_err("providers:\n  - name: h\n    type: webhook\n    url: http://127.0.0.1:9/\nalerts:\n  - {providers: [h], events: [exploded]}\n");
    assert!(e.contains("unknown event \"exploded\""), "{e}");

    let e = resolve_err("notifications:\n  providers:\n    - {name: h, type: webhook, url: http://x/, colour: red}\n");
    assert!(
        e.contains("notifications.providers[0]") && e.contains("colour"),
        "{e}"
    );
}

// ---------------------------------------------------------------- ferry apply, end to end

struct Apply {
    tmp: tempfile::TempDir,
    kubeconfig: PathBuf,
    dir: PathBuf,
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "shop"}, "data": {"k": "v"}})
}

fn setup(server: &HttpFake, objects: &[Value]) -> Apply {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(true)).expect("write");
    let dir = tmp.path().join("out/prod");
    write_artifact(&dir, "prod", objects);
    set_revision(&dir, &format!("main@sha1:{SHA}"));
    Apply {
        tmp,
        kubeconfig,
        dir,
    }
}

fn set_revision(dir: &Path, rev: &str) {
    let p = dir.join("index.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
    v["source"]["revision"] = json!(rev);
    std::fs::write(&p, serde_json::to_string_pretty(&v).expect("json")).expect("write");
}

fn apply(env: &Apply, notify_yaml: &str, extra: &[&str]) -> (Output, Duration) {
    let cfg = write(env.tmp.path(), "ferry.yaml", notify_yaml);
    let t = Instant::now();
    let o = common::ferry(&env.tmp.path().join("cache"))
        .arg("apply")
        .arg(&env.dir)
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .arg("--notify-config")
        .arg(&cfg)
        .args(extra)
        .env_remove("KUBECONFIG")
        .env("FERRY_TEST_GH_TOKEN", "ghp_TESTTOKEN0123456789")
        .env("HOME", env.tmp.path())
        .output()
        .expect("ferry runs");
    (o, t.elapsed())
}

fn github_yaml(url: &str) -> String {
    format!(
        "apiVersion: ferry.dev/v1alpha1\nnotifications:\n  link: https://ci.example.test/run/7\n  providers:\n    - name: gh\n      type: github\n      baseUrl: {url}/api/v3\n      token: {{env: FERRY_TEST_GH_TOKEN}}\n      repository: acme/platform\n  alerts:\n    - providers: [gh]\n"
    )
}

fn states(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .map(|r| r.json()["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn apply_posts_pending_then_success_and_failure_when_it_fails() {
    let server = HttpFake::start();
    let gh = Receiver::start(Answer::code(201, r#"{"state":"success","id":1}"#));
    let env = setup(
        &server,
        &[namespace("shop"), configmap("a"), configmap("b")],
    );
    let (o, _) = apply(&env, &github_yaml(&gh.url), &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let reqs = gh.wait_for(2);
    assert_eq!(states(&reqs), ["pending", "success"]);
    for r in &reqs {
        assert_eq!(
            r.path,
            format!("/api/v3/repos/acme/platform/statuses/{SHA}")
        );
        assert_eq!(
            r.header("authorization"),
            Some("Bearer ghp_TESTTOKEN0123456789")
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        let v = r.json();
        assert_eq!(v["context"], "ferry/prod");
        assert_eq!(v["target_url"], "https://ci.example.test/run/7");
    }
    assert!(reqs[1].json()["description"]
        .as_str()
        .expect("d")
        .starts_with("prod applied: 3 created"));

    // A new object the API server rejects (unchanged ones are not sent again).
    write_artifact(
        &env.dir,
        "prod",
        &[
            namespace("shop"),
            configmap("a"),
            configmap("b"),
            configmap("c"),
        ],
    );
    set_revision(&env.dir, &format!("main@sha1:{SHA}"));
    server.with(|s| s.reject.insert("c".into()));
    let (o, _) = apply(&env, &github_yaml(&gh.url), &[]);
    assert_eq!(o.status.code(), Some(3));
    let reqs = gh.wait_for(4);
    assert_eq!(states(&reqs[2..]), ["pending", "failure"]);
    assert!(reqs[3].json()["description"]
        .as_str()
        .expect("d")
        .contains("failed to apply"));
}

#[test]
fn a_hanging_receiver_delays_the_apply_by_its_timeout_at_most() {
    let server = HttpFake::start();
    let hang = Receiver::start(Answer::Hang(Duration::from_secs(120)));
    let env = setup(&server, &[namespace("shop"), configmap("a")]);
    let yaml = format!(
        "providers:\n  - name: hook\n    type: webhook\n    url: {}/h\n    timeoutSeconds: 1\n    retries: 100\n    backoffMillis: 10\nalerts:\n  - providers: [hook]\n",
        hang.url
    );
    let (o, took) = apply(&env, &yaml, &["--notify-wait", "2s"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "the apply is unaffected: {err}");
    assert!(
        took < Duration::from_secs(15),
        "bounded by --notify-wait: {took:?}"
    );
    assert!(
        err.contains("still undelivered after --notify-wait 2s"),
        "{err}"
    );
    assert!(server.with(|s| s.get("", "configmaps", "shop", "a").is_some()));
}

#[test]
fn a_bad_declaration_turns_notifications_off_and_the_apply_still_runs() {
    let server = HttpFake::start();
    let env = setup(&server, &[namespace("shop"), configmap("a")]);
    for (yaml, says) in [
        (
            "providers:\n  - {name: x, type: pager, url: http://127.0.0.1:9/}\n",
            "unknown type \"pager\"",
        ),
        (
            "providers:\n  - name: gh\n    type: github\n    token: {file: /nonexistent/tok}\n",
            "/nonexistent/tok",
        ),
        (
            "providers:\n  - {name: w, type: webhook, url: 'http//nope'}\n",
            "not a URL",
        ),
    ] {
        let (o, _) = apply(&env, yaml, &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(
            err.contains("notifications are off for this apply") && err.contains(says),
            "{err}"
        );
    }
    assert!(server.with(|s| s.get("", "configmaps", "shop", "a").is_some()));
}

#[test]
fn notify_test_sends_one_test_event() {
    let rx = Receiver::start(Answer::code(200, "ok"));
    let tmp = tempfile::tempdir().expect("tmp");
    let addr = write(tmp.path(), "url", &format!("{}/services/T/B/TOKEN", rx.url));
    let cfg = write(tmp.path(), "n.yaml", &chat_config("slack", &addr));
    let o = common::ferry(&tmp.path().join("cache"))
        .args(["notify", "test", "chat", "--notify-config"])
        .arg(&cfg)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("answered HTTP 200"));
    let r = &rx.requests()[0];
    assert_eq!(r.json()["attachments"][0]["footer"], "ferry test");

    // A refusal is an error that names the provider and hides the secret URL.
    let rx = Receiver::start(Answer::code(404, "no_service"));
    let addr = write(tmp.path(), "url", &format!("{}/services/T/B/TOKEN", rx.url));
    let cfg = write(tmp.path(), "n.yaml", &chat_config("slack", &addr));
    let o = common::ferry(&tmp.path().join("cache"))
        .args(["notify", "test", "chat", "--notify-config"])
        .arg(&cfg)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HTTP 404") && err.contains("no_service"),
        "{err}"
    );
    assert!(!err.contains("TOKEN"), "{err}");

    let o = common::ferry(&tmp.path().join("cache"))
        .args(["notify", "test", "nobody", "--notify-config"])
        .arg(&cfg)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no provider named \"nobody\"") && err.contains("declared: chat"),
        "{err}"
    );
}

#[test]
fn no_secret_value_reaches_any_receiver_however_the_apply_fails() {
    let plain = "hunter2-very-secret";
    let b64 = "aHVudGVyMi12ZXJ5LXNlY3JldA==";
    let server = HttpFake::start();
    let hook = Receiver::start(Answer::code(200, "ok"));
    let slack = Receiver::start(Answer::code(200, "ok"));
    let gh = Receiver::start(Answer::code(201, "{}"));
    let env = setup(&server, &[]);
    let (secret, key) = sealed_secret(env.tmp.path(), b64);
    write_artifact(
        &env.dir,
        "prod",
        &[namespace("shop"), configmap("a"), secret],
    );
    set_revision(&env.dir, &format!("main@sha1:{SHA}"));
    let slack_url = write(
        env.tmp.path(),
        "slack-url",
        &format!("{}/services/T/B/SLACKTOKEN", slack.url),
    );
    let yaml = format!(
        "{}    - name: hook\n      type: webhook\n      url: {}/h\n    - name: slack\n      type: slack\n      address: {{file: {}}}\n  alerts:\n    - providers: [gh, hook, slack]\n",
        github_yaml(&gh.url).split("  alerts:").next().expect("providers"),
        hook.url,
        slack_url.display()
    );
    let id = key.to_str().expect("utf-8");
    // 1. The Secret itself is rejected by the API server.
    server.with(|s| s.reject.insert("db".into()));
    let (o, _) = apply(&env, &yaml, &["--identity", id]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // 2. The identity cannot open it: the apply does not run.
    let other = env.tmp.path().join("other.key");
    ferry::secrets::identity::write_new(&other).expect("identity");
    let (o, _) = apply(&env, &yaml, &["--identity", other.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    // 3. It applies, then everything is fine.
    server.with(|s| s.reject.clear());
    let (o, _) = apply(&env, &yaml, &["--identity", id]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        server
            .with(|s| s.get("", "secrets", "shop", "db").cloned())
            .expect("applied")["data"]["password"],
        b64
    );

    let all: Vec<Request> = [&hook, &slack, &gh]
        .iter()
        .flat_map(|r| r.requests())
        .collect();
    assert!(all.len() >= 8, "every failure was notified: {}", all.len());
    let hook_kinds: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| r.json()["kind"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        hook_kinds,
        ["failed", "failed", "applied"],
        "{hook_kinds:?}"
    );
    let forbidden = [
        plain.to_string(),
        b64.to_string(),
        hex::encode(Sha256::digest(plain.as_bytes())),
        hex::encode(Sha256::digest(b64.as_bytes())),
    ];
    for r in &all {
        let text = r.all_text();
        for f in &forbidden {
            assert!(!text.contains(f.as_str()), "{f} leaked in\n{text}");
        }
    }
}

/// GitLab and Gitea/Forgejo speak their own commit-status dialects: each receiver checks the
/// path, the auth header and the body field by field, for pending, success and failure.
#[test]
fn gitlab_and_gitea_get_commit_statuses_in_their_own_format() {
    let gl = Receiver::start(Answer::code(201, r#"{"id":1}"#));
    let gt = Receiver::start(Answer::code(201, r#"{"id":1}"#));
    let yaml = format!(
        "providers:\n  - name: gl\n    type: gitlab\n    baseUrl: {}\n    token: {{env: FERRY_TEST_GL_TOKEN}}\n    repository: group/sub/app\n  - name: gt\n    type: gitea\n    baseUrl: {}/forgejo\n    token: {{env: FERRY_TEST_GT_TOKEN}}\n    repository: acme/app\nalerts:\n  - providers: [gl, gt]\n    events: [progressing, applied, failed]\n",
        gl.url, gt.url
    );
    std::env::set_var("FERRY_TEST_GL_TOKEN", "glpat-TESTTOKEN");
    std::env::set_var("FERRY_TEST_GT_TOKEN", "gitea-TESTTOKEN");
    let (n, _) = start(&yaml);
    let revision = format!("main@sha1:{SHA}");
    n.send(Event::progressing("prod", "sha256:9a0b", Some(&revision)));
    let mut applied = Event::new(Kind::Applied, "prod", "prod applied: 3 created");
    applied.revision = Some(revision.clone());
    n.send(applied);
    n.send(failed_event());
    assert!(n.flush(Duration::from_secs(20)));

    let reqs = gl.wait_for(3);
    let states: Vec<Value> = reqs.iter().map(|r| r.json()["state"].clone()).collect();
    assert_eq!(
        states,
        [json!("pending"), json!("success"), json!("failed")]
    );
    for r in &reqs {
        assert_eq!(
            r.path,
            format!("/api/v4/projects/group%2Fsub%2Fapp/statuses/{SHA}")
        );
        assert_eq!(r.header("private-token"), Some("glpat-TESTTOKEN"));
        let v = r.json();
        assert_eq!(v["name"], "ferry/prod");
        assert_eq!(v["ref"], "main");
        assert!(v.get("context").is_none(), "{v}");
    }
    let reqs = gt.wait_for(3);
    let states: Vec<Value> = reqs.iter().map(|r| r.json()["state"].clone()).collect();
    assert_eq!(
        states,
        [json!("pending"), json!("success"), json!("failure")]
    );
    for r in &reqs {
        assert_eq!(
            r.path,
            format!("/forgejo/api/v1/repos/acme/app/statuses/{SHA}")
        );
        assert_eq!(r.header("authorization"), Some("token gitea-TESTTOKEN"));
        assert_eq!(r.json()["context"], "ferry/prod");
    }
    assert!(reqs[2].json()["description"]
        .as_str()
        .expect("description")
        .contains("failed to apply"));
}
