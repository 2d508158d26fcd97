//! Go's `time.Parse` for `toDate`/`mustToDate`: the reference-time layout elements, Go's
//! error words (`parsing time "x" as "2006-01-02": cannot parse "x" as "2006"`). A zone
//! offset in the input is kept with the time, as Go keeps it in a fixed zone (an offset of
//! zero is Local, which is UTC where ferry renders).

use super::dates::{Time, DAYS, MONTHS};

/// Layout elements, longest first where one is a prefix of another (Go's `nextStdChunk`).
const ELEMS: [&str; 29] = [
    "January", "Jan", "Monday", "Mon", "MST", "2006", "Z07:00", "Z0700", "Z07", "-07:00", "-0700",
    "-07", "002", "01", "02", "_2", "03", "04", "05", "06", "15", "PM", "pm", "1", "2", "3", "4",
    "5", ".000",
];

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in(y: i64, m: u32) -> u32 {
    const D: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    D[(m - 1) as usize] + u32::from(m == 2 && leap)
}

/// Up to `max` leading digits (at least `min`) of `s`.
fn digits(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn lookup<'a>(s: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n) {
            return Some((i, &s[n.len()..]));
        }
    }
    None
}

/// `time.ParseInLocation(layout, value, UTC)`.
pub fn parse(layout: &str, value: &str) -> Result<Time, String> {
    let q = crate::quote::quote;
    let cannot = |rest: &str, elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            q(value),
            q(layout),
            q(rest),
            q(elem)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec) = (0i64, 1u32, 1u32, 0, 0, 0);
    let (mut nanos, mut offset, mut pm, mut yday) = (0u32, 0i64, None, None);
    let mut l = layout;
    let mut v = value;
    while !l.is_empty() {
        // The literal text up to the next element must match as it is.
        let pos = (0..l.len())
            .filter(|i| l.is_char_boundary(*i))
            .find(|i| ELEMS.iter().any(|e| l[*i..].starts_with(e)))
            .unwrap_or(l.len());
        let (lit, after) = l.split_at(pos);
        if !lit.is_empty() {
            v = v.strip_prefix(lit).ok_or_else(|| cannot(v, lit))?;
            l = after;
            continue;
        }
        let Some(elem) = ELEMS.iter().find(|e| l.starts_with(**e)).copied() else {
            break;
        };
        l = &l[elem.len()..];
        let bad = || cannot(v, elem);
        let rest = match elem {
            "2006" => digits(v, 4, 4).map(|(n, r)| {
                year = n;
                r
            }),
            "06" => digits(v, 2, 2).map(|(n, r)| {
                year = if n >= 69 { 1900 + n } else { 2000 + n };
                r
            }),
            "01" | "1" => digits(v, if elem == "01" { 2 } else { 1 }, 2).and_then(|(n, r)| {
                month = u32::try_from(n).ok()?;
                Some(r)
            }),
            "January" | "Jan" => lookup(v, &MONTHS, elem == "Jan").map(|(i, r)| {
                month = i as u32 + 1;
                r
            }),
            "Monday" | "Mon" => lookup(v, &DAYS, elem == "Mon").map(|(_, r)| r),
            "02" | "2" | "_2" => {
                let v2 = if elem == "_2" {
                    v.strip_prefix(' ').unwrap_or(v)
                } else {
                    v
                };
                digits(v2, if elem == "02" { 2 } else { 1 }, 2).and_then(|(n, r)| {
                    day = u32::try_from(n).ok()?;
                    Some(r)
                })
            }
            "002" => digits(v, 3, 3).map(|(n, r)| {
                yday = Some(n);
                r
            }),
            "15" => digits(v, 1, 2).map(|(n, r)| {
                hour = n;
                r
            }),
            "03" | "3" => digits(v, if elem == "03" { 2 } else { 1 }, 2).map(|(n, r)| {
                hour = n;
                r
            }),
            "04" | "4" => digits(v, if elem == "04" { 2 } else { 1 }, 2).map(|(n, r)| {
                min = n;
                r
            }),
            "05" | "5" => digits(v, if elem == "05" { 2 } else { 1 }, 2).map(|(n, r)| {
                sec = n;
                // Go takes a fraction after the seconds even when the layout has none.
                match r.strip_prefix('.') {
                    Some(f)
                        if f.starts_with(|c: char| c.is_ascii_digit()) && !l.starts_with('.') =>
                    {
                        let n = f.bytes().take_while(u8::is_ascii_digit).count();
                        nanos = frac_nanos(&f[..n]);
                        &f[n..]
                    }
                    _ => r,
                }
            }),
            ".000" => v.strip_prefix('.').and_then(|f| {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                (n >= 3).then(|| {
                    nanos = frac_nanos(&f[..n]);
                    &f[n..]
                })
            }),
            "PM" | "pm" => {
                let p = v.get(..2).map(str::to_ascii_uppercase);
                match p.as_deref() {
                    Some("PM") => pm = Some(true),
                    Some("AM") => pm = Some(false),
                    _ => return Err(bad()),
                }
                Some(&v[2..])
            }
            "MST" => {
                let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                (3..=5).contains(&n).then(|| &v[n..])
            }
            _ => {
                // Zone offsets.
                if elem.starts_with('Z') && v.starts_with('Z') {
                    Some(&v[1..])
                } else {
                    zone(v, elem).map(|(o, r)| {
                        offset = o;
                        r
                    })
                }
            }
        };
        v = rest.ok_or_else(bad)?;
    }
    if !v.is_empty() {
        return Err(format!("parsing time {}: extra text: {}", q(value), q(v)));
    }
    if let Some(p) = pm {
        if hour > 12 {
            return Err(format!("parsing time {}: hour out of range", q(value)));
        }
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    let range = |what: &str| format!("parsing time {}: {what} out of range", q(value));
    if !(1..=12).contains(&month) {
        return Err(range("month"));
    }
    if let Some(yd) = yday {
        if yd < 1 || yd > 365 + i64::from(days_in(year, 2) == 29) {
            return Err(range("day-of-year"));
        }
        let mut d = yd as u32;
        month = 1;
        while d > days_in(year, month) {
            d -= days_in(year, month);
            month += 1;
        }
        day = d;
    }
    if day < 1 || day > days_in(year, month) {
        return Err(range("day"));
    }
    if hour > 23 {
        return Err(range("hour"));
    }
    if min > 59 {
        return Err(range("minute"));
    }
    if sec > 59 {
        return Err(range("second"));
    }
    let secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    Ok(Time {
        secs,
        nanos,
        offset: offset as i32,
    })
}

fn frac_nanos(d: &str) -> u32 {
    let mut s = d.chars().take(9).collect::<String>();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

/// A `-07:00`, `-0700` or `-07` offset in seconds east of UTC.
fn zone<'a>(v: &'a str, elem: &str) -> Option<(i64, &'a str)> {
    let sign = match v.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let v = &v[1..];
    let (h, rest) = digits(v, 2, 2)?;
    let colon = elem.ends_with(":00");
    let (m, rest) = if elem.ends_with("07") {
        (0, rest)
    } else if colon {
        digits(rest.strip_prefix(':')?, 2, 2)?
    } else {
        digits(rest, 2, 2)?
    };
    Some((sign * (h * 3600 + m * 60), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let t = parse("2006-01-02", "2024-02-29").unwrap();
        assert_eq!(t.format("2006-01-02 15:04:05"), "2024-02-29 00:00:00");
        let t = parse("2006-01-02T15:04:05Z07:00", "2024-01-01T10:00:00+02:00").unwrap();
        assert_eq!(t.format("15:04 -0700 MST"), "10:00 +0200 +0200");
        assert_eq!(t.utc().format("15:04 Z07:00"), "08:00 Z");
        let t = parse("Jan _2 3:04PM", "Mar  5 1:07PM").unwrap();
        assert_eq!(t.format("01-02 15:04"), "03-05 13:07");
        assert_eq!(
            parse("2006-01-02", "2024-1-02").unwrap_err(),
            "parsing time \"2024-1-02\" as \"2006-01-02\": cannot parse \"1-02\" as \"01\""
        );
        assert_eq!(
            parse("2006-01-02", "2024-02-30").unwrap_err(),
            "parsing time \"2024-02-30\": day out of range"
        );
    }
}
