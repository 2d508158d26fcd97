//! Go's duration syntax, as Flux objects and ferry's own resources write durations; shared by
//! the agent's Sync specs and `ferry apply`'s reading of a Flux build's Kustomization timeouts.

use std::time::Duration;

/// Go's duration syntax as Flux writes it: `90s`, `5m`, `1h30m`, `500ms`, `5m0s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (like 30s, 5m, 1h30m)");
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("`{s}`: a number needs a unit (ms, s, m or h)"))?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
        };
        total = total.saturating_add(part);
    }
    if total > Duration::from_secs(366 * 24 * 3600) {
        return Err(format!("`{s}` is longer than a year"));
    }
    Ok(total)
}
