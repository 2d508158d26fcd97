//! The few DER and PEM pieces Sprig's key and certificate functions need: writing the
//! structures Go's `encoding/asn1` and `crypto/x509` write, and reading back a certificate's
//! parts (a definite-length DER walk; anything else is malformed, as Go finds it).

use base64::Engine;

pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
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

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub fn oid(arcs: &[u64]) -> Vec<u8> {
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
pub fn integer(bytes: &[u8]) -> Vec<u8> {
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|&x| x == 0).collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

pub fn bit_string(bytes: &[u8], unused: u8) -> Vec<u8> {
    let mut body = vec![unused];
    body.extend_from_slice(bytes);
    tlv(0x03, &body)
}

pub fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

/// Go's `pem.EncodeToMemory`: 64 base64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block of `text` (Go's `pem.Decode`, without headers): its type and bytes.
pub fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let mut rest = text;
    loop {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start + 11..];
        let end_label = after.find("-----")?;
        let label = &after[..end_label];
        let body = &after[end_label + 5..];
        let end_marker = format!("-----END {label}-----");
        if label.contains('\n') {
            rest = after;
            continue;
        }
        let Some(end) = body.find(&end_marker) else {
            rest = after;
            continue;
        };
        let b64: String = body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(bytes) => return Some((label.to_string(), bytes)),
            Err(_) => rest = after,
        }
    }
}

/// One DER element: its tag, its contents and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
    pub raw: &'a [u8],
}

/// The element at the start of `input` and what follows it.
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = head.checked_add(len)?;
    let raw = input.get(..end)?;
    Some((
        Tlv {
            tag,
            body: &raw[head..],
            raw,
        },
        &input[end..],
    ))
}

/// The elements inside a constructed element's contents.
pub fn children(mut body: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (t, rest) = read(body)?;
        out.push(t);
        body = rest;
    }
    Some(out)
}

/// The contents of an INTEGER as unsigned big-endian bytes.
pub fn uint(t: &Tlv<'_>) -> Option<Vec<u8>> {
    (t.tag == 0x02).then(|| t.body.iter().copied().skip_while(|&b| b == 0).collect())
}

/// What Sprig's certificate functions need from a parsed certificate.
pub struct CertParts {
    pub subject: Vec<u8>,
    pub spki: Vec<u8>,
    pub ski: Vec<u8>,
}

const SKI_OID: &[u8] = &[0x55, 0x1d, 0x0e];

/// A DER certificate's subject, public key and subject key id; `None` when malformed.
pub fn parse_certificate(der: &[u8]) -> Option<CertParts> {
    let (cert, rest) = read(der)?;
    if cert.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let parts = children(cert.body)?;
    let [tbs, alg, sig] = parts.as_slice() else {
        return None;
    };
    if tbs.tag != 0x30 || alg.tag != 0x30 || sig.tag != 0x03 {
        return None;
    }
    let mut fields = children(tbs.body)?;
    if fields.first().is_some_and(|f| f.tag == 0xa0) {
        fields.remove(0);
    }
    // serial, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    if fields.len() < 6 || fields[0].tag != 0x02 || fields[5].tag != 0x30 {
        return None;
    }
    let mut ski = Vec::new();
    if let Some(exts) = fields[6..].iter().find(|f| f.tag == 0xa3) {
        let (list, _) = read(exts.body)?;
        for ext in children(list.body)? {
            let items = children(ext.body)?;
            if items
                .first()
                .is_some_and(|o| o.tag == 0x06 && o.body == SKI_OID)
            {
                let value = items.last()?;
                let (inner, _) = read(value.body)?;
                ski = inner.body.to_vec();
            }
        }
    }
    Some(CertParts {
        subject: fields[4].raw.to_vec(),
        spki: fields[5].raw.to_vec(),
        ski,
    })
}
