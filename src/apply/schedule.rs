//! The `--interval` loop's timing and its health endpoint: when the next run starts (jittered,
//! backing off after failures), and a tiny HTTP server saying whether the loop is alive.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `interval` scaled by a factor in [0.9, 1.1) taken from `seed`, so replicas of the loop in
/// many clusters do not hit one registry in step.
pub fn jittered(interval: Duration, seed: u64) -> Duration {
    let permille = 900 + u128::from(splitmix(seed) % 200);
    let millis = interval.as_millis().saturating_mul(permille) / 1000;
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// After `failures` failed runs in a row: 10s, 20s, 40s, ... never longer than `interval`.
pub fn backoff(failures: u32, interval: Duration, seed: u64) -> Duration {
    let base = Duration::from_secs(10).saturating_mul(1 << failures.saturating_sub(1).min(16));
    jittered(base.min(interval), seed)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed that differs between processes and runs.
pub fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What the loop reports to the health endpoint.
#[derive(Debug, Default)]
pub struct LoopHealth {
    /// Unix seconds when the last run ended (0: none yet).
    last_run: AtomicU64,
    last_ok: AtomicBool,
}

impl LoopHealth {
    pub fn record(&self, ok: bool) {
        self.last_run.store(now(), Ordering::SeqCst);
        self.last_ok.store(ok, Ordering::SeqCst);
    }

    /// `/healthz`: the loop is alive when a run ended within `stale` (a failing apply is not a
    /// reason to restart ferry). `/readyz`: the last run applied everything.
    pub fn answer(&self, path: &str, stale: Duration) -> (u16, &'static str) {
        let last = self.last_run.load(Ordering::SeqCst);
        match path {
            "/healthz" if last == 0 || now().saturating_sub(last) <= stale.as_secs() => {
                (200, "ok\n")
            }
            "/healthz" => (503, "no run finished recently\n"),
            "/readyz" if last != 0 && self.last_ok.load(Ordering::SeqCst) => (200, "ok\n"),
            "/readyz" => (503, "the last run did not apply everything\n"),
            _ => (404, "not found\n"),
        }
    }
}

/// An HTTP answer: status code, content type, body.
pub type Answer = (u16, &'static str, String);

/// Serves `/healthz` and `/readyz` on `listener` from a thread of its own.
pub fn serve_health(listener: TcpListener, health: Arc<LoopHealth>, stale: Duration) {
    serve(listener, move |path| {
        let (code, body) = health.answer(path, stale);
        (code, "text/plain", body.to_string())
    });
}

/// Answers GET requests on `listener` from a thread of its own with `answer(path)`: the
/// smallest server the health and metrics endpoints need (one request per connection).
pub fn serve(listener: TcpListener, answer: impl Fn(&str) -> Answer + Send + 'static) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // A client that never finishes its request must not hold the only thread.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            let mut reader = BufReader::new(&stream);
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Read the headers to their end: closing with request bytes unread makes the
            // kernel reset the connection, and the client (a Prometheus scrape) loses the
            // answer.
            let mut header = String::new();
            let mut read = 0;
            while read < 64 * 1024 {
                header.clear();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header.trim_end().is_empty() => break,
                    Ok(n) => read += n,
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let (code, content_type, body) = answer(path);
            let reason = if code == 200 { "OK" } else { "Not OK" };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let i = Duration::from_secs(300);
        for seed in 0..1000 {
            let d = jittered(i, seed);
            assert!(
                d >= Duration::from_secs(270) && d < Duration::from_secs(330),
                "{d:?}"
            );
        }
        assert_ne!(jittered(i, 1), jittered(i, 2));
    }

    #[test]
    fn backoff_doubles_and_is_capped_by_the_interval() {
        let i = Duration::from_secs(300);
        let around = |d: Duration, s: u64| {
            d >= Duration::from_secs(s) * 9 / 10 && d <= Duration::from_secs(s) * 11 / 10
        };
        assert!(around(backoff(1, i, 7), 10));
        assert!(around(backoff(2, i, 7), 20));
        assert!(around(backoff(3, i, 7), 40));
        assert!(around(backoff(30, i, 7), 300));
    }

    #[test]
    fn huge_intervals_do_not_overflow() {
        let d = jittered(Duration::from_secs(u64::MAX / 2), 3);
        assert!(d > Duration::from_secs(1));
    }

    #[test]
    fn health_answers() {
        let h = LoopHealth::default();
        let stale = Duration::from_secs(60);
        assert_eq!(
            h.answer("/healthz", stale).0,
            200,
            "alive before the first run"
        );
        assert_eq!(h.answer("/readyz", stale).0, 503);
        h.record(false);
        assert_eq!(
            h.answer("/healthz", stale).0,
            200,
            "a failed apply is no reason to restart"
        );
        assert_eq!(h.answer("/readyz", stale).0, 503);
        h.record(true);
        assert_eq!(h.answer("/readyz", stale).0, 200);
        assert_eq!(h.answer("/other", stale).0, 404);
    }

    #[test]
    fn a_request_sent_in_pieces_gets_the_whole_answer() {
        use std::io::Read;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = "x".repeat(1 << 20);
        let answer = body.clone();
        serve(listener, move |_| (200, "text/plain", answer.clone()));
        for _ in 0..5 {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            // The headers arrive after the server could have answered the request line.
            s.write_all(b"GET /metrics HTTP/1.1\r\n").expect("write");
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(b"Host: x\r\nAccept: */*\r\n\r\n")
                .expect("write");
            let mut got = Vec::new();
            s.read_to_end(&mut got).expect("the whole answer, no reset");
            let text = String::from_utf8(got).expect("utf8");
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &text[..40]);
            assert!(text.ends_with(&body), "the body arrived whole");
        }
    }
}
