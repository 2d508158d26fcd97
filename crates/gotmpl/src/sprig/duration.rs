//! Go's `time.Duration`: `ParseDuration` and `String` (`1h2m3.5s`, `1.5µs`, `0s`), nanoseconds
//! in an i64, with Go's error words.

const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// `time.ParseDuration`.
pub fn parse(orig: &str) -> Result<i64, String> {
    let q = crate::quote::quote(orig);
    let invalid = || format!("time: invalid duration {q}");
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next().filter(|c| *c == '-' || *c == '+') {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.as_bytes()[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let pre = int_len > 0;
        let mut v: u64 = 0;
        for b in s[..int_len].bytes() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(invalid)?;
        }
        s = &s[int_len..];
        let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            post = n > 0;
            for b in s[..n].bytes() {
                if frac < u64::MAX / 100 {
                    frac = frac * 10 + u64::from(b - b'0');
                    scale *= 10.0;
                }
            }
            s = &s[n..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let ulen = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if ulen == 0 {
            return Err(format!("time: missing unit in duration {q}"));
        }
        let u = &s[..ulen];
        let Some(&(_, unit)) = UNITS.iter().find(|(n, _)| *n == u) else {
            return Err(format!(
                "time: unknown unit {} in duration {q}",
                crate::quote::quote(u)
            ));
        };
        s = &s[ulen..];
        v = v.checked_mul(unit).ok_or_else(invalid)?;
        if frac > 0 {
            v = v
                .checked_add((frac as f64 * (unit as f64 / scale)) as u64)
                .ok_or_else(invalid)?;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
    }
    if neg {
        if total > 1u64 << 63 {
            return Err(invalid());
        }
        Ok((total as i128).wrapping_neg() as i64)
    } else {
        i64::try_from(total).map_err(|_| invalid())
    }
}

/// `prec` digits of `v` after a point, trailing zeros and a bare point dropped.
fn frac(v: u64, prec: u32) -> String {
    let p = 10u64.pow(prec);
    let f = format!("{:0width$}", v % p, width = prec as usize);
    let f = f.trim_end_matches('0');
    if f.is_empty() {
        format!("{}", v / p)
    } else {
        format!("{}.{f}", v / p)
    }
}

/// `Duration.String`.
pub fn format(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        match u {
            0 => return "0s".into(),
            1..=999 => format!("{u}ns"),
            1_000..=999_999 => format!("{}µs", frac(u, 3)),
            _ => format!("{}ms", frac(u, 6)),
        }
    } else {
        let secs = u / 1_000_000_000;
        let mut out = format!("{}s", frac(u % 60_000_000_000, 9));
        let mins = secs / 60;
        if mins > 0 {
            out = format!("{}m{out}", mins % 60);
            let hours = mins / 60;
            if hours > 0 {
                out = format!("{hours}h{out}");
            }
        }
        out
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(1_500), "1.5µs");
        assert_eq!(format(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(format(60_000_000_000), "1m0s");
        assert_eq!(format(-2_000_000), "-2ms");
        assert_eq!(parse("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(
            parse("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".into())
        );
        assert_eq!(parse("x"), Err("time: invalid duration \"x\"".into()));
    }
}
