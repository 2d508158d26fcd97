//! Go's number printing: `strconv.FormatFloat` in the `'g'` (what `%v` and go-yaml print) and
//! `encoding/json` forms, and how go-yaml v2 reads back a number that went through JSON.

/// The shortest decimal digits that read back as `f`, and where the decimal point goes:
/// the value is `0.d1d2d3… × 10^point`. Zero has no digits.
struct Digits {
    negative: bool,
    digits: Vec<u8>,
    point: i32,
}

impl Digits {
    /// Rust's `{:e}` prints the shortest round-trip digits, the same digits Go's shortest
    /// formatting picks; only the layout around them differs.
    fn of(f: f64) -> Digits {
        let negative = f.is_sign_negative();
        if f == 0.0 {
            return Digits {
                negative,
                digits: Vec::new(),
                point: 0,
            };
        }
        let text = format!("{:e}", f.abs());
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
        let exponent: i32 = exponent.parse().unwrap_or(0);
        Digits {
            negative,
            digits,
            point: exponent + 1,
        }
    }

    /// `%e` with as many fraction digits as there are digits: `1.5e+06`, `1e-07`.
    fn exponent_form(&self, out: &mut String) {
        if self.negative {
            out.push('-');
        }
        let first = self.digits.first().copied().unwrap_or(b'0');
        out.push(first as char);
        if self.digits.len() > 1 {
            out.push('.');
            out.extend(self.digits[1..].iter().map(|&d| d as char));
        }
        let exp = if self.digits.is_empty() {
            0
        } else {
            self.point - 1
        };
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    }

    /// `%f` with just enough fraction digits: `1234567.5`, `0.000001`, `100000000000000000000`.
    fn fixed_form(&self, out: &mut String) {
        if self.negative {
            out.push('-');
        }
        let digit = |i: i32| -> char {
            if i >= 0 && (i as usize) < self.digits.len() {
                self.digits[i as usize] as char
            } else {
                '0'
            }
        };
        if self.point > 0 {
            for i in 0..self.point {
                out.push(digit(i));
            }
        } else {
            out.push('0');
        }
        let fraction = (self.digits.len() as i32 - self.point).max(0);
        if fraction > 0 {
            out.push('.');
            for i in 0..fraction {
                out.push(digit(self.point + i));
            }
        }
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which is also what `fmt`'s `%v` prints for a
/// float64: exponent form when the exponent is below -4 or at least 6 (`1e+06`,
/// `1.2345675e+06`, `1e-05`), plain decimals otherwise.
pub fn format_g(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let d = Digits::of(f);
    let mut out = String::new();
    let exp = d.point - 1;
    if !d.digits.is_empty() && !(-4..6).contains(&exp) {
        d.exponent_form(&mut out);
    } else {
        d.fixed_form(&mut out);
    }
    out
}

/// How Go's `encoding/json` writes a float64: plain decimals between 1e-6 and 1e21, exponent
/// form outside with a one-digit negative exponent left unpadded (`1e-7`, `1e+21`).
/// NaN and infinities cannot occur in a `serde_json` value.
pub fn format_json_float(f: f64) -> String {
    let d = Digits::of(f);
    let abs = f.abs();
    let mut out = String::new();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        d.exponent_form(&mut out);
        // Go shortens `e-07` to `e-7` (but keeps `e+21`).
        let b = out.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            out.remove(n - 2);
        }
    } else {
        d.fixed_form(&mut out);
    }
    out
}

/// The text go-yaml v2 writes for a JSON number: `sigs.k8s.io/yaml` reads the JSON back with
/// go-yaml's resolver, so a float64 that JSON printed as an integer becomes an int (`1.0` →
/// `1`, `-0` → `0`), one too big for int64 a uint64, and only then a float64 in `'g'` form.
pub fn yaml_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let json = format_json_float(f);
    if !json.contains(['.', 'e']) {
        if let Ok(i) = json.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = json.parse::<u64>() {
            return u.to_string();
        }
    }
    format_g(f)
}

/// The text Go's `encoding/json` writes for a number.
pub fn json_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    format_json_float(n.as_f64().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_go_percent_v() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1234567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000001, "1e-06"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-2.5e-10, "-2.5e-10"),
            (0.1, "0.1"),
            (1.2345678901234568e20, "1.2345678901234568e+20"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
        ];
        for (f, want) in cases {
            assert_eq!(format_g(*f), *want, "format_g({f:e})");
        }
    }

    #[test]
    fn json_float_matches_go_encoding_json() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1e6, "1000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e-10, "1e-10"),
            (1234567.5, "1234567.5"),
            (-1e300, "-1e+300"),
        ];
        for (f, want) in cases {
            assert_eq!(format_json_float(*f), *want, "json({f:e})");
        }
    }

    #[test]
    fn yaml_number_follows_the_json_round_trip() {
        let num = |f: f64| serde_json::Number::from_f64(f).expect("finite");
        assert_eq!(yaml_number(&num(1.0)), "1");
        assert_eq!(yaml_number(&num(-0.0)), "0");
        assert_eq!(yaml_number(&num(1e6)), "1000000");
        assert_eq!(yaml_number(&num(1234567.5)), "1.2345675e+06");
        assert_eq!(yaml_number(&num(0.000001)), "1e-06");
        assert_eq!(
            yaml_number(&num(1.2345678901234567e19)),
            "12345678901234567000"
        );
        assert_eq!(
            yaml_number(&num(1.2345678901234568e20)),
            "1.2345678901234568e+20"
        );
        assert_eq!(
            yaml_number(&serde_json::Number::from(u64::MAX)),
            "18446744073709551615"
        );
        assert_eq!(yaml_number(&serde_json::Number::from(-5i64)), "-5");
    }
}
