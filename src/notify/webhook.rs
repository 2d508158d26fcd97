//! The generic webhook: the [`Event`] as JSON, custom headers, and an optional signature.
//!
//! With `hmacKey:` set, every request carries
//! `X-Ferry-Signature: sha256=<hex of HMAC-SHA256(key, body)>` over the exact body bytes. A
//! receiver checks it by computing the same HMAC over the raw body it read (before any JSON
//! parsing) with the shared key and comparing in constant time, e.g. in Python
//! `hmac.compare_digest("sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(), header)`.
//! `X-Ferry-Event` names the event kind, so a receiver can route without parsing.

use super::config::Provider;
use super::event::Event;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-ferry-signature";
pub const EVENT_HEADER: &str = "x-ferry-event";

pub fn body(e: &Event) -> Vec<u8> {
    serde_json::to_vec(e).unwrap_or_default()
}

pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn headers(p: &Provider, body: &[u8]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = p.headers.clone();
    if let Some(key) = &p.hmac_key {
        h.push((
            SIGNATURE_HEADER.into(),
            signature(key.expose().as_bytes(), body),
        ));
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(k) = v["kind"].as_str() {
            h.push((EVENT_HEADER.into(), k.to_string()));
        }
    }
    h
}
