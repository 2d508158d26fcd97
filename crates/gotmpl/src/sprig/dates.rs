//! Sprig's date functions (date.go): `now`, `date`, `dateInZone`, `unixEpoch`, with Go's
//! reference-time layouts (`2006-01-02T15:04:05Z07:00`). Times are UTC: a zone other than
//! UTC is read as UTC, as is `Local` (ferry renders in CI, where the zone is UTC).

use super::{Reg, STR};
use crate::func::Type::Any;
use crate::value::{Object, Value};
use std::rc::Rc;

/// Go's `time.Time` in UTC.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
}

impl Time {
    pub fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time {
            secs: d.as_secs() as i64,
            nanos: d.subsec_nanos(),
        }
    }

    /// Year, month (1-12), day, hour, minute, second, weekday (0 = Sunday), day of year.
    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86400);
        let rem = self.secs.rem_euclid(86400) as u32;
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
        const MONTHS: [&str; 12] = [
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
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let (y, mo, d, h, mi, s, wd, yd) = self.civil();
        let mut out = String::new();
        let mut rest = layout;
        // Longest elements first, as Go's nextStdChunk tells them apart.
        let table: &[(&str, &dyn Fn() -> String)] = &[
            ("January", &|| MONTHS[(mo - 1) as usize].to_string()),
            ("Jan", &|| MONTHS[(mo - 1) as usize][..3].to_string()),
            ("Monday", &|| DAYS[wd as usize].to_string()),
            ("Mon", &|| DAYS[wd as usize][..3].to_string()),
            ("MST", &|| "UTC".to_string()),
            ("2006", &|| format!("{y:04}")),
            ("Z07:00", &|| "Z".to_string()),
            ("Z0700", &|| "Z".to_string()),
            ("Z07", &|| "Z".to_string()),
            ("-07:00", &|| "+00:00".to_string()),
            ("-0700", &|| "+0000".to_string()),
            ("-07", &|| "+00".to_string()),
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
        Value::Int(i) | Value::Int64(i) => Time { secs: *i, nanos: 0 },
        _ => Time::now(),
    }
}

pub(crate) fn register(r: &mut Reg) {
    r.fixed("now", &[], |_| Ok(Value::Object(Rc::new(Time::now()))));
    r.fixed("date", &[STR, Any], |a| {
        Ok(Value::str(
            &as_time(&a[1]).format(a[0].as_str().unwrap_or_default()),
        ))
    });
    r.fixed("dateInZone", &[STR, Any, STR], |a| {
        Ok(Value::str(
            &as_time(&a[1]).format(a[0].as_str().unwrap_or_default()),
        ))
    });
    r.fixed("unixEpoch", &[Any], |a| {
        Ok(Value::str(&as_time(&a[0]).secs.to_string()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts() {
        let t = Time {
            secs: 1_136_214_245,
            nanos: 120_000_000,
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
        };
        assert_eq!(
            t.format("2006-01-02 15:04:05 002"),
            "2024-02-29 23:59:59 060"
        );
    }
}
