//! A loopback HTTP receiver that records every request and answers from a script, as the real
//! services do: 2xx (Slack `ok`, Discord 204, GitHub 201 with a JSON status), 429 with
//! `Retry-After`, 500, garbage, or no answer at all (a hang).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// Everything the receiver saw of this request, for leak checks.
    pub fn all_text(&self) -> String {
        let mut s = format!("{} {}\n", self.method, self.path);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

#[derive(Debug, Clone)]
pub enum Answer {
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then answer nothing for this long.
    Hang(Duration),
    /// Not HTTP at all.
    Garbage,
}

impl Answer {
    pub fn code(code: u16, body: &str) -> Answer {
        Answer::Status {
            code,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn retry_after(secs: u64) -> Answer {
        Answer::Status {
            code: 429,
            headers: vec![("Retry-After".into(), secs.to_string())],
            body: "rate limited".into(),
        }
    }
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    script: VecDeque<Answer>,
}

pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    default: Answer,
}

impl Receiver {
    /// A receiver answering `default` once its script is used up.
    pub fn start(default: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let s = state.clone();
        let d = default.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                let d = d.clone();
                std::thread::spawn(move || serve(stream, &s, &d));
            }
        });
        Receiver {
            url,
            state,
            default,
        }
    }

    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().expect("lock").script.extend(answers);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("lock").requests.clone()
    }

    /// Wait until `n` requests arrived (or 20 s passed) and return them.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let start = Instant::now();
        while self.requests().len() < n && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.requests()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, default: &Answer) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let answer = {
        let mut st = state.lock().expect("lock");
        st.requests.push(Request {
            method,
            path,
            headers,
            body,
            at: Instant::now(),
        });
        st.script.pop_front().unwrap_or_else(|| default.clone())
    };
    match answer {
        Answer::Status {
            code,
            headers,
            body,
        } => {
            let mut r = format!(
                "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                r.push_str(&format!("{k}: {v}\r\n"));
            }
            r.push_str("\r\n");
            r.push_str(&body);
            let _ = out.write_all(r.as_bytes());
        }
        Answer::Hang(d) => std::thread::sleep(d),
        Answer::Garbage => {
            let _ = out.write_all(b"\x00\x01garbage, not HTTP\r\n\r\n");
        }
    }
    let _ = out.flush();
}
