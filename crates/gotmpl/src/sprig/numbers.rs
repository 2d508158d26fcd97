//! Sprig's numeric functions (numeric.go and functions.go): integer math through cast's
//! ToInt64, float math through ToFloat64, until/untilStep.

use super::conv::{go_f64_to_i64, to_float64, to_int64};
use super::Reg;
use super::STR;
use crate::func::Type::{Any, Float64, Int};
use crate::limits;
use crate::value::{Elem, Value};
use std::rc::Rc;

fn int_list(v: Vec<i64>) -> Value {
    Value::List(Elem::Int, Rc::new(v.into_iter().map(Value::Int).collect()))
}

/// Sprig's untilStep: from `start` towards `stop` (exclusive) by `step`; empty when the step
/// leads away from `stop`. Refused when the list would be over [`limits::MAX_LIST`].
pub fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let count = if (stop < start && step < 0) || (stop > start && step > 0) {
        ((stop - start).abs() + step.abs() - 1) / step.abs()
    } else {
        0
    };
    limits::check_list(usize::try_from(count).unwrap_or(usize::MAX))?;
    Ok((0..count).map(|k| (start + k * step) as i64).collect())
}

pub fn register(r: &mut Reg) {
    r.fixed("atoi", &[STR], |a| {
        Ok(Value::Int(
            a[0].as_str()
                .and_then(|s| {
                    let d = s.strip_prefix(['+', '-']).unwrap_or(s);
                    if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    s.parse::<i64>().ok()
                })
                .unwrap_or(0),
        ))
    });
    r.fixed("int", &[Any], |a| Ok(Value::Int(to_int64(&a[0]))));
    r.fixed("int64", &[Any], |a| Ok(Value::Int64(to_int64(&a[0]))));
    r.fixed("float64", &[Any], |a| Ok(Value::Float(to_float64(&a[0]))));
    r.fixed("add1", &[Any], |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    r.variadic("add", &[], Any, |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
        ))
    });
    r.fixed("sub", &[Any, Any], |a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    r.fixed("div", &[Any, Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    r.fixed("mod", &[Any, Any], |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    r.variadic("mul", &[Any], Any, |a| {
        Ok(Value::Int64(
            a[1..]
                .iter()
                .fold(to_int64(&a[0]), |s, v| s.wrapping_mul(to_int64(v))),
        ))
    });
    for name in ["max", "biggest"] {
        r.variadic(name, &[Any], Any, |a| {
            Ok(Value::Int64(
                a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
            ))
        });
    }
    r.variadic("min", &[Any], Any, |a| {
        Ok(Value::Int64(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min),
        ))
    });
    r.variadic("maxf", &[Any], Any, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_max),
        ))
    });
    r.variadic("minf", &[Any], Any, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_min),
        ))
    });
    r.fixed("floor", &[Any], |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    r.fixed("ceil", &[Any], |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    r.variadic("round", &[Any, Int], Float64, |a| {
        let round_on = a.get(2).map(to_float64).unwrap_or(0.5);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(a[1].as_int().unwrap_or(0) as f64);
        let digit = pow * val;
        let frac = digit - digit.trunc();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    r.fixed("until", &[Int], |a| {
        let n = a[0].as_int().unwrap_or(0);
        Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })?))
    });
    r.fixed("untilStep", &[Int, Int, Int], |a| {
        let g = |i: usize| a[i].as_int().unwrap_or(0);
        Ok(int_list(until_step(g(0), g(1), g(2))?))
    });
    let _ = go_f64_to_i64;
    register_decimal(r);
}

/// A float as the decimal its shortest text spells (shopspring/decimal's `NewFromFloat`).
fn decimal(f: f64) -> Option<(i128, i32)> {
    if !f.is_finite() {
        return None;
    }
    let text = format!("{f:e}");
    let (m, e) = text.split_once('e')?;
    let exp: i32 = e.parse().ok()?;
    let neg = m.starts_with('-');
    let m = m.trim_start_matches('-');
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((if neg { -digits } else { digits }, exp - frac.len() as i32))
}

fn align(a: (i128, i32), b: (i128, i32)) -> Option<(i128, i128, i32)> {
    let e = a.1.min(b.1);
    let scale = |x: (i128, i32)| -> Option<i128> {
        10i128
            .checked_pow(u32::try_from(x.1 - e).ok()?)?
            .checked_mul(x.0)
    };
    Some((scale(a)?, scale(b)?, e))
}

fn to_f64(d: (i128, i32)) -> f64 {
    format!("{}e{}", d.0, d.1).parse().unwrap_or(f64::NAN)
}

/// Sprig's `execDecimalOp`: exact decimal arithmetic on the operands' shortest spellings, then
/// back to float64; plain float64 arithmetic where a value is too large for the exact path.
fn decimal_op(first: f64, rest: &[f64], op: char) -> f64 {
    let mut acc = first;
    for &x in rest {
        let exact = match (decimal(acc), decimal(x)) {
            (Some(a), Some(b)) => match op {
                '+' | '-' => align(a, b).and_then(|(a, b, e)| {
                    let r = if op == '+' {
                        a.checked_add(b)
                    } else {
                        a.checked_sub(b)
                    }?;
                    Some(to_f64((r, e)))
                }),
                '*' => a.0.checked_mul(b.0).map(|m| to_f64((m, a.1 + b.1))),
                _ => None,
            },
            _ => None,
        };
        acc = match (exact, op) {
            (Some(v), _) => v,
            (None, '+') => acc + x,
            (None, '-') => acc - x,
            (None, '*') => acc * x,
            // DivRound to 16 decimal places.
            (None, _) => {
                if x == 0.0 {
                    return f64::NAN;
                }
                format!("{:.16}", acc / x).parse().unwrap_or(acc / x)
            }
        };
    }
    acc
}

fn register_decimal(r: &mut Reg) {
    r.fixed("add1f", &[Any], |a| {
        Ok(Value::Float(decimal_op(to_float64(&a[0]), &[1.0], '+')))
    });
    r.variadic("addf", &[], Any, |a| {
        let xs: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(decimal_op(0.0, &xs, '+')))
    });
    for (name, op) in [("subf", '-'), ("mulf", '*'), ("divf", '/')] {
        r.variadic(name, &[Any], Any, move |a| {
            let xs: Vec<f64> = a[1..].iter().map(to_float64).collect();
            if op == '/' && xs.contains(&0.0) {
                return Err("decimal division by 0".into());
            }
            Ok(Value::Float(decimal_op(to_float64(&a[0]), &xs, op)))
        });
    }
}

/// Go's math.Max: NaN wins, +0 beats -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_positive() { x } else { y };
    }
    x.max(y)
}

fn go_min(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { x } else { y };
    }
    x.min(y)
}
