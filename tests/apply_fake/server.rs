//! The fake API server on a real loopback socket (plain HTTP/1.1, one request per connection),
//! so the `ferry` binary itself can be run against it with a kubeconfig.

use super::State;
use http::Request;
use kube::client::Body;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A server running until the process ends; `url` is `http://127.0.0.1:PORT`.
pub struct HttpFake {
    pub state: Arc<Mutex<State>>,
    pub url: String,
}

impl HttpFake {
    pub fn start() -> HttpFake {
        let state = Arc::new(Mutex::new(State::builtin()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            for stream in listener.incoming().flatten() {
                let _ = handle(&rt, &st, stream);
            }
        });
        HttpFake { state, url }
    }

    /// A kubeconfig with a working context `fake` and, as the current context, a dead one
    /// unless `fake_is_current`.
    pub fn kubeconfig(&self, fake_is_current: bool) -> String {
        let current = if fake_is_current { "fake" } else { "dead" };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\n- name: dead\n  cluster: {{server: \"http://127.0.0.1:9\"}}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u, namespace: default}}\n- name: dead\n  context: {{cluster: dead, user: u, namespace: default}}\ncurrent-context: {current}\n",
            self.url
        )
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }
}

fn handle(
    rt: &tokio::runtime::Runtime,
    state: &Arc<Mutex<State>>,
    stream: TcpStream,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut builder = Request::builder().method(method.as_str()).uri(target);
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            builder = builder.header(k.trim(), v.trim());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = builder.body(Body::from(body)).expect("request");
    let response = rt.block_on(super::serve(state, request));
    let status = response.status();
    let bytes = rt.block_on(async {
        use http_body_util::BodyExt;
        response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default()
    });
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("OK"),
        bytes.len()
    )?;
    out.write_all(&bytes)?;
    out.flush()
}
