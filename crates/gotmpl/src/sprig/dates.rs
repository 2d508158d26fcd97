//! Sprig's date functions (date.go): `now`, `date`, `dateInZone`, `unixEpoch`, with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`). `Local` is UTC (ferry renders in
//! CI, where the zone is UTC), and so is any named zone; a time parsed with a zone offset
//! keeps it (Go's fixed zone without a name) until a function converts it to `Local`.

use super::{Reg, STR};
use crate::func::Type::Any;
use crate::value::{Object, Value};
use std::rc::Rc;

/// Go's month and weekday names.
pub(crate) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(crate) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Go's `time.Time`: an instant (Unix seconds and nanoseconds) and the zone offset it is
/// shown in (seconds east of UTC; 0 is UTC).
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
    pub offset: i32,
}

impl Time {
    pub fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
            offset: 0,
        }
    }

    /// The same instant in UTC (Go's `t.In(time.Local)` where Local is UTC).
    pub fn utc(self) -> Time {
        Time { offset: 0, ..self }
    }

    /// Go's zone offset layouts: `Z` for UTC where the layout starts with Z, else the sign,
    /// hours and (unless `short`) minutes, with `colon` between them.
    fn zone(&self, z: bool, colon: bool, short: bool) -> String {
        if z && self.offset == 0 {
            return "Z".into();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let m = self.offset.unsigned_abs() / 60;
        match (short, colon) {
            (true, _) => format!("{sign}{:02}", m / 60),
            (false, true) => format!("{sign}{:02}:{:02}", m / 60, m % 60),
            (false, false) => format!("{sign}{:02}{:02}", m / 60, m % 60),
        }
    }

    /// Year, month (1-12), day, hour, minute, second, weekday (0 = Sunday), day of year.
    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, u32, u32) {
        let local = self.secs.saturating_add(i64::from(self.offset));
        let days = local.div_euclid(86400);
        let rem = local.rem_euclid(86400) as u32;
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        let weekday = (days + 4).rem_euclid(7) as u32;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = CUM[(m - 1) as usize] + d + u32::from(leap && m > 2);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60, weekday, yday)
    }

    /// Go's `Time.Format` for the layout elements charts use.
    pub fn format(&self, layout: &str) -> String {
        let (y, mo, d, h, mi, s, wd, yd) = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        // Longest elements first, as Go's nextStdChunk tells them apart.
        let table: &[(&str, &dyn Fn() -> String)] = &[
            ("January", &|| MONTHS[(mo - 1) as usize].to_string()),
            ("Jan", &|| MONTHS[(mo - 1) as usize][..3].to_string()),
            ("Monday", &|| DAYS[wd as usize].to_string()),
            ("Mon", &|| DAYS[wd as usize][..3].to_string()),
            // A fixed zone without a name prints its offset.
            ("MST", &|| {
                if self.offset == 0 {
                    "UTC".to_string()
                } else {
                    self.zone(false, false, false)
                }
            }),
            ("2006", &|| format!("{y:04}")),
            ("Z07:00", &|| self.zone(true, true, false)),
            ("Z0700", &|| self.zone(true, false, false)),
            ("Z07", &|| self.zone(true, false, true)),
            ("-07:00", &|| self.zone(false, true, false)),
            ("-0700", &|| self.zone(false, false, false)),
            ("-07", &|| self.zone(false, false, true)),
            ("002", &|| format!("{yd:03}")),
            ("01", &|| format!("{mo:02}")),
            ("02", &|| format!("{d:02}")),
            ("_2", &|| format!("{d:>2}")),
            ("03", &|| {
                format!("{:02}", if h % 12 == 0 { 12 } else { h % 12 })
            }),
            ("04", &|| format!("{mi:02}")),
            ("05", &|| format!("{s:02}")),
            ("06", &|| format!("{:02}", y.rem_euclid(100))),
            ("15", &|| format!("{h:02}")),
            ("PM", &|| if h >= 12 { "PM" } else { "AM" }.to_string()),
            ("pm", &|| if h >= 12 { "pm" } else { "am" }.to_string()),
            ("1", &|| mo.to_string()),
            ("2", &|| d.to_string()),
            ("3", &|| (if h % 12 == 0 { 12 } else { h % 12 }).to_string()),
            ("4", &|| mi.to_string()),
            ("5", &|| s.to_string()),
        ];
        'outer: while !rest.is_empty() {
            for frac in [
                ".000000000",
                ".000000",
                ".000",
                ".999999999",
                ".999999",
                ".999",
            ] {
                if let Some(r) = rest.strip_prefix(frac) {
                    let digits = frac.len() - 1;
                    let n = format!("{:09}", self.nanos);
                    let mut f = n[..digits].to_string();
                    if frac.as_bytes()[1] == b'9' {
                        f = f.trim_end_matches('0').to_string();
                    }
                    if !f.is_empty() {
                        out.push('.');
                        out.push_str(&f);
                    }
                    rest = r;
                    continue 'outer;
                }
            }
            for (k, f) in table {
                if let Some(r) = rest.strip_prefix(k) {
                    out.push_str(&f());
                    rest = r;
                    continue 'outer;
                }
            }
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
}

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }
    fn display(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }
    /// `Time.MarshalJSON`: RFC 3339 with nanoseconds, in the time's own zone.
    fn json_value(&self) -> Option<Value> {
        Some(Value::str(
            &self.format("2006-01-02T15:04:05.999999999Z07:00"),
        ))
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// The time a `date` argument stands for: a time, or Unix seconds; anything else is now.
fn as_time(v: &Value) -> Time {
    match v {
        Value::Object(o) => match o.as_any().and_then(|a| a.downcast_ref::<Time>()) {
            Some(t) => *t,
            None => Time::now(),
        },
        Value::Int(i) | Value::Int64(i) => Time {
            secs: *i,
            nanos: 0,
            offset: 0,
        },
        _ => Time::now(),
    }
}

fn time_value(t: Time) -> Value {
    Value::Object(Rc::new(t))
}

/// A `time.Time` argument (a typed parameter: the executor has checked the type).
fn time_arg(v: &Value) -> Time {
    as_time(v)
}

fn time_since(t: Time) -> i64 {
    let now = Time::now();
    let d =
        i128::from(now.secs - t.secs) * 1_000_000_000 + i128::from(now.nanos) - i128::from(t.nanos);
    d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn add(t: Time, d: i64) -> Time {
    let total = i128::from(t.nanos) + i128::from(d % 1_000_000_000);
    let secs = t.secs + d / 1_000_000_000 + total.div_euclid(1_000_000_000) as i64;
    Time {
        secs,
        nanos: total.rem_euclid(1_000_000_000) as u32,
        offset: t.offset,
    }
}

/// Sprig's `durationRound`: the largest whole unit, with `y` as 365 days and `mo` as 30.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    const S: u64 = 1_000_000_000;
    for (unit, name) in [
        (S * 3600 * 24 * 365, "y"),
        (S * 3600 * 24 * 30, "mo"),
        (S * 3600 * 24, "d"),
        (S * 3600, "h"),
        (S * 60, "m"),
        (S, "s"),
    ] {
        if u > unit {
            return format!("{}{name}", u / unit);
        }
    }
    "0s".into()
}

pub(crate) fn register(r: &mut Reg) {
    use crate::func::Type::Object;
    const TIME: crate::func::Type = Object("time.Time");
    r.fixed("now", &[], |_| Ok(time_value(Time::now())));
    r.fixed("date", &[STR, Any], |a| {
        Ok(Value::str(
            &as_time(&a[1])
                .utc()
                .format(a[0].as_str().unwrap_or_default()),
        ))
    });
    for name in ["dateInZone", "date_in_zone"] {
        r.fixed(name, &[STR, Any, STR], |a| {
            Ok(Value::str(
                &as_time(&a[1])
                    .utc()
                    .format(a[0].as_str().unwrap_or_default()),
            ))
        });
    }
    r.fixed("htmlDate", &[Any], |a| {
        Ok(Value::str(&as_time(&a[0]).utc().format("2006-01-02")))
    });
    r.fixed("htmlDateInZone", &[Any, STR], |a| {
        Ok(Value::str(&as_time(&a[0]).utc().format("2006-01-02")))
    });
    r.fixed("unixEpoch", &[TIME], |a| {
        Ok(Value::str(&time_arg(&a[0]).secs.to_string()))
    });
    for name in ["dateModify", "date_modify"] {
        r.fixed(name, &[STR, TIME], |a| {
            let t = time_arg(&a[1]);
            Ok(time_value(
                match super::duration::parse(a[0].as_str().unwrap_or_default()) {
                    Ok(d) => add(t, d),
                    Err(_) => t,
                },
            ))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        r.fixed(name, &[STR, TIME], |a| {
            let d = super::duration::parse(a[0].as_str().unwrap_or_default())?;
            Ok(time_value(add(time_arg(&a[1]), d)))
        });
    }
    r.fixed("ago", &[Any], |a| {
        let t = match &a[0] {
            Value::Object(_) | Value::Int(_) | Value::Int64(_) => as_time(&a[0]),
            _ => Time::now(),
        };
        // Rounded to whole seconds, halves away from zero (Go's Duration.Round).
        let d = time_since(t);
        let s = 1_000_000_000i64;
        let r = d.rem_euclid(s);
        let rounded = if r + r < s { d - r } else { d - r + s };
        Ok(Value::str(&super::duration::format(rounded)))
    });
    r.fixed("duration", &[Any], |a| {
        let n = match &a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(Value::str(&super::duration::format(
            n.wrapping_mul(1_000_000_000),
        )))
    });
    r.fixed("durationRound", &[Any], |a| {
        let d = match &a[0] {
            Value::String(s) => super::duration::parse(s).unwrap_or(0),
            Value::Int64(n) => *n,
            Value::Object(o) if o.type_name() == "time.Time" => time_since(as_time(&a[0])),
            _ => 0,
        };
        Ok(Value::str(&duration_round(d)))
    });
    r.fixed("toDate", &[STR, STR], |a| {
        let (l, v) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
        Ok(time_value(super::timeparse::parse(l, v).unwrap_or(Time {
            secs: ZERO_TIME_SECS,
            nanos: 0,
            offset: 0,
        })))
    });
    r.fixed("mustToDate", &[STR, STR], |a| {
        let (l, v) = (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or(""));
        match super::timeparse::parse(l, v) {
            Ok(t) => Ok(time_value(t)),
            Err(e) => Err(e),
        }
    });
}

/// Go's zero `time.Time` (January 1, year 1, UTC) in Unix seconds.
const ZERO_TIME_SECS: i64 = -62_135_596_800;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts() {
        let t = Time {
            secs: 1_136_214_245,
            nanos: 120_000_000,
            offset: 0,
        };
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2006-01-02T15:04:05Z"
        );
        assert_eq!(t.format("20060102150405"), "20060102150405");
        assert_eq!(t.format("Mon Jan _2 3:04PM .000"), "Mon Jan  2 3:04PM .120");
        let t = Time {
            secs: 1_709_251_199,
            nanos: 0,
            offset: 0,
        };
        assert_eq!(
            t.format("2006-01-02 15:04:05 002"),
            "2024-02-29 23:59:59 060"
        );
    }
}
