//! go-yaml v2's key order (`sorter.go`): non-letters before letters, runs of digits compared
//! as numbers, so `_x < B < a9 < a10`. go-yaml v3 (Helm's `toYamlPretty`) differs in one
//! rule: right after equal digits, a letter sorts before a non-letter (`a1b < a1.`).

use std::cmp::Ordering;

/// Go's `unicode.IsLetter`. Rust's `is_alphabetic` also counts a few marks and number letters
/// outside Latin-1; keys with those are rare enough that the difference is accepted.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        c.is_alphabetic()
    }
}

/// Go's `unicode.IsDigit`: ASCII digits in Latin-1, decimal digits beyond it.
fn is_digit(c: char) -> bool {
    if (c as u32) <= 0xFF {
        c.is_ascii_digit()
    } else {
        c.is_numeric()
    }
}

/// `keyList.Less` for two string keys.
pub fn natural_less(a: &str, b: &str) -> bool {
    less(a, b, false)
}

fn less(a: &str, b: &str, v3: bool) -> bool {
    // Keys are nearly always ASCII: compare bytes then, without collecting characters.
    if a.is_ascii() && b.is_ascii() {
        return less_by(a.as_bytes(), b.as_bytes(), v3);
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    less_by(&ar, &br, v3)
}

fn less_by<C: Copy + PartialEq + Into<u32>>(ar: &[C], br: &[C], v3: bool) -> bool {
    let ch = |c: C| char::from_u32(c.into()).unwrap_or('\0');
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            if v3 {
                digits = is_digit(ch(ar[i]));
            }
            continue;
        }
        let (a, b) = (ch(ar[i]), ch(br[i]));
        let al = is_letter(a);
        let bl = is_letter(b);
        if al && bl {
            return a < b;
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        // Both are non-letters: compare the digit runs starting here as numbers. A run that
        // continues earlier non-zero digits is not a fresh number, so leading zeros count.
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if a == '0' || b == '0' {
            for j in (0..i).rev() {
                let c = ch(ar[j]);
                if !is_digit(c) {
                    break;
                }
                if c != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let digit = |c: char| i64::from(c as u32).wrapping_sub('0' as i64);
        let mut ai = i;
        while ai < ar.len() && is_digit(ch(ar[ai])) {
            an = an.wrapping_mul(10).wrapping_add(digit(ch(ar[ai])));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(ch(br[bi])) {
            bn = bn.wrapping_mul(10).wrapping_add(digit(ch(br[bi])));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return a < b;
    }
    ar.len() < br.len()
}

fn compare(a: &str, b: &str, v3: bool) -> Ordering {
    if less(a, b, v3) {
        Ordering::Less
    } else if less(b, a, v3) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Sorts keys in go-yaml v2 order. A merge sort of our own: the order is not a strict total
/// order for every odd key set, and the standard library's sort may panic on such input.
pub fn sort_keys<T, F: Fn(&T) -> &str>(items: &mut Vec<T>, key: F) {
    merge_sort(items, &key, false);
}

/// Sorts keys in go-yaml v3 order.
pub fn sort_keys_v3<T, F: Fn(&T) -> &str>(items: &mut Vec<T>, key: F) {
    merge_sort(items, &key, true);
}

fn merge_sort<T>(items: &mut Vec<T>, key: &dyn Fn(&T) -> &str, v3: bool) {
    if items.len() < 2 {
        return;
    }
    let right = items.split_off(items.len() / 2);
    let mut left = std::mem::take(items);
    let mut right = right;
    merge_sort(&mut left, key, v3);
    merge_sort(&mut right, key, v3);
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let take_right = compare(key(b), key(a), v3) == Ordering::Less;
        let next = if take_right { r.next() } else { l.next() };
        items.extend(next);
    }
    items.extend(l);
    items.extend(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        sort_keys(&mut v, |s| s.as_str());
        v
    }

    #[test]
    fn non_letters_first_and_numbers_by_value() {
        assert_eq!(
            sorted(&["a10", "a9", "B", "_x", "a"]),
            ["_x", "B", "a", "a9", "a10"]
        );
        assert_eq!(sorted(&["x-2", "x-10", "x-1"]), ["x-1", "x-2", "x-10"]);
        assert_eq!(
            sorted(&["app.kubernetes.io/name", "app", "apps"]),
            ["app", "app.kubernetes.io/name", "apps"]
        );
    }

    #[test]
    fn leading_zeros_and_digit_runs() {
        assert_eq!(sorted(&["a01", "a1", "a001"]), ["a1", "a01", "a001"]);
        assert_eq!(
            sorted(&["v1.10", "v1.9", "v1.09"]),
            ["v1.9", "v1.09", "v1.10"]
        );
    }

    #[test]
    fn v3_puts_letters_first_after_digits() {
        let mut v = vec!["a1.", "a1b", "a10", "a9", "_x"];
        sort_keys_v3(&mut v, |s| s);
        assert_eq!(v, ["_x", "a1b", "a1.", "a9", "a10"]);
        sort_keys(&mut v, |s| s);
        assert_eq!(v, ["_x", "a1.", "a1b", "a9", "a10"]);
    }

    #[test]
    fn inconsistent_orders_do_not_panic() {
        let keys: Vec<String> = (0..200)
            .map(|i| format!("{}{}", "0".repeat(i % 4), i * 7919 % 1000))
            .collect();
        let mut v = keys.clone();
        sort_keys(&mut v, |s| s.as_str());
        assert_eq!(v.len(), keys.len());
    }
}
