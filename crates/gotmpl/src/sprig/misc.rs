//! Sprig's path, encoding, hashing and random functions. Random output has the right shape
//! and alphabet, not Go's bytes.

use super::strings::go_split;
use super::{Reg, STR};
use crate::func::Type::{Any, Int};
use crate::value::{Elem, Value};
use std::rc::Rc;

/// Go's path.Clean: lexical, `/`-separated.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

pub fn dir(p: &str) -> String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

pub fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// SHA-1 (FIPS 180-4), for `sha1sum`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn b32enc(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = buf.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64);
        let n = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < n {
                out.push(B32[((v >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's base32 StdEncoding.DecodeString; the offset of the first bad byte on error.
pub fn b32dec(s: &str) -> Result<Vec<u8>, usize> {
    let bytes: Vec<(usize, u8)> = s
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\n' && *b != b'\r')
        .collect();
    if !bytes.len().is_multiple_of(8) {
        return Err(bytes.len() / 8 * 8);
    }
    let mut out = Vec::new();
    for (q, quantum) in bytes.chunks(8).enumerate() {
        let mut v = 0u64;
        let mut n = 0;
        for (j, &(pos, c)) in quantum.iter().enumerate() {
            if c == b'=' {
                if !quantum[j..].iter().all(|&(_, c)| c == b'=')
                    || !matches!(j, 2 | 4 | 5 | 7)
                    || q != bytes.len() / 8 - 1
                {
                    return Err(pos);
                }
                break;
            }
            let d = B32.iter().position(|&a| a == c).ok_or(pos)?;
            v |= (d as u64) << (35 - j * 5);
            n = j + 1;
        }
        let len = n * 5 / 8;
        for i in 0..len {
            out.push((v >> (32 - i * 8)) as u8);
        }
    }
    Ok(out)
}

fn random_string(count: i64, alphabet: &[u8]) -> Result<String, String> {
    use rand::Rng;
    let count = count.max(0) as usize;
    crate::limits::check_string(count)?;
    let mut rng = rand::thread_rng();
    Ok((0..count)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect())
}

pub(crate) fn register(r: &mut Reg) {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    for (name, f) in [
        ("base", base as fn(&str) -> String),
        ("dir", dir),
        ("clean", clean),
        ("ext", ext),
        ("osBase", base),
        ("osDir", dir),
        ("osClean", clean),
        ("osExt", ext),
    ] {
        r.fixed(name, &[STR], move |a| Ok(Value::str(&f(&s(&a[0])))));
    }
    for name in ["isAbs", "osIsAbs"] {
        r.fixed(name, &[STR], move |a| {
            Ok(Value::Bool(s(&a[0]).starts_with('/')))
        });
    }
    r.fixed("sha1sum", &[STR], move |a| {
        Ok(Value::str(&hex(&sha1(s(&a[0]).as_bytes()))))
    });
    r.fixed("sha512sum", &[STR], move |a| {
        use sha2::Digest;
        Ok(Value::str(&hex(&sha2::Sha512::digest(s(&a[0]).as_bytes()))))
    });
    r.fixed("b32enc", &[STR], move |a| {
        Ok(Value::str(&b32enc(s(&a[0]).as_bytes())))
    });
    r.fixed("b32dec", &[STR], move |a| {
        Ok(Value::str(&match b32dec(&s(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(at) => format!("illegal base32 data at input byte {at}"),
        }))
    });
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (name, alphabet) in [
        ("randAlphaNum", ALNUM),
        ("randAlpha", &ALNUM[..52]),
        ("randNumeric", &ALNUM[52..]),
    ] {
        r.fixed(name, &[Int], move |a| {
            Ok(Value::str(&random_string(
                a[0].as_int().unwrap_or(0),
                alphabet,
            )?))
        });
    }
    r.fixed("randInt", &[Int, Int], |a| {
        use rand::Rng;
        let (lo, hi) = (a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(rand::thread_rng().gen_range(lo..hi)))
    });
    r.fixed("randBytes", &[Int], |a| {
        use base64::Engine;
        use rand::RngCore;
        let n = a[0].as_int().unwrap_or(0);
        if n < 0 {
            return Err("runtime error: makeslice: len out of range".into());
        }
        crate::limits::check_string(n as usize)?;
        let mut buf = vec![0u8; n as usize];
        rand::thread_rng().fill_bytes(&mut buf);
        Ok(Value::str(
            &base64::engine::general_purpose::STANDARD.encode(buf),
        ))
    });
    r.fixed("randAscii", &[Int], |a| {
        let printable: Vec<u8> = (32u8..=126).collect();
        Ok(Value::str(&random_string(
            a[0].as_int().unwrap_or(0),
            &printable,
        )?))
    });
    r.fixed("uuidv4", &[], |_| {
        let mut b: [u8; 16] = rand::random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        Ok(Value::str(&format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )))
    });
    for name in ["regexSplit", "mustRegexSplit"] {
        r.fixed(name, &[STR, STR, Int], move |a| {
            // regexSplit panics on a bad pattern and mustRegexSplit returns the error:
            // both end the render.
            let re = super::strings::regex(&s(&a[0]))?;
            let text = s(&a[1]);
            let n = a[2].as_int().unwrap_or(0);
            // Go's Regexp.Split: n == 0 gives nothing, n < 0 everything.
            let parts: Vec<String> = if n == 0 {
                Vec::new()
            } else if n < 0 {
                re.split(&text).map(String::from).collect()
            } else {
                re.splitn(&text, n as usize).map(String::from).collect()
            };
            Ok(Value::List(
                Elem::String,
                Rc::new(parts.iter().map(|p| Value::str(p)).collect()),
            ))
        });
    }
    r.fixed("shuffle", &[STR], move |a| {
        use rand::seq::SliceRandom;
        let mut chars: Vec<char> = s(&a[0]).chars().collect();
        chars.shuffle(&mut rand::thread_rng());
        Ok(Value::str(&chars.into_iter().collect::<String>()))
    });
    r.fixed("initials", &[STR], move |a| {
        Ok(Value::str(
            &s(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect::<String>(),
        ))
    });
    r.fixed("swapcase", &[STR], move |a| {
        Ok(Value::str(
            &s(&a[0])
                .chars()
                .map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().next().unwrap_or(c)
                    } else if c.is_lowercase() {
                        c.to_uppercase().next().unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect::<String>(),
        ))
    });
    r.fixed("toDecimal", &[Any], |a| {
        let text = crate::gofmt::sprint(std::slice::from_ref(&a[0]));
        let (neg, digits) = match text.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, text.strip_prefix('+').unwrap_or(&text)),
        };
        let v = if !digits.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            i64::from_str_radix(digits, 8)
                .ok()
                .map(|v| if neg { -v } else { v })
        } else {
            None
        };
        Ok(Value::Int64(v.unwrap_or(0)))
    });
    let _ = go_split;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_go() {
        assert_eq!(clean("a//b/../c/."), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("b"), ".");
        assert_eq!(ext("x/y.tar.gz"), ".gz");
    }

    #[test]
    fn sha1_known_answer() {
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(b32enc(b"hello"), "NBSWY3DP");
        assert_eq!(b32enc(b"hi"), "NBUQ====");
        assert_eq!(b32dec("NBUQ===="), Ok(b"hi".to_vec()));
    }
}
