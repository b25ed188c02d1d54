//! Load multipliers for `kendall compare --load 0.5x..4x --steps 8`.

/// The most loads a range may expand to.
pub const MAX_STEPS: usize = 1000;

/// The load multipliers of `spec`, in increasing order.
///
/// * `"2x"` (or `"2"`): that one load; `steps` is not used.
/// * `"A..B"` (`"0.5x..4x"`): `steps` loads **evenly spaced** (linear) from A to B, both ends
///   included: `0.5x..4x` in 8 steps is 0.5, 1, 1.5, …, 4. Linear steps keep round figures
///   round and put as many points at high load, where designs part ways, as at low load.
///
/// A multiplier is a decimal number (`0.5`, `12`, no exponent or sign) with an optional `x`,
/// above 0; spaces around a multiplier are ignored. A range needs A < B and 2 ≤ steps ≤
/// [`MAX_STEPS`]. Each load is rounded to 1e-9 so that `0.1x..0.3x` gives 0.2, not
/// 0.20000000000000004. Errors are lowercase sentences fit to follow `error: `.
pub fn parse_load_range(spec: &str, steps: usize) -> Result<Vec<f64>, String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err(
            "expected a load such as `2x` or a range such as `0.5x..4x`, found nothing".into(),
        );
    }
    let Some((start, end)) = spec.split_once("..") else {
        return Ok(vec![multiplier(spec)?]);
    };
    if start.trim().is_empty() || end.trim().is_empty() {
        return Err(format!(
            "`{spec}` is missing an end: write a range such as `0.5x..4x`"
        ));
    }
    let (low, high) = (multiplier(start)?, multiplier(end)?);
    if low >= high {
        return Err(format!(
            "the load range `{spec}` is empty: its start must be below its end"
        ));
    }
    if steps < 2 {
        return Err(format!(
            "a load range needs at least 2 steps (its two ends), found {steps}"
        ));
    }
    if steps > MAX_STEPS {
        return Err(format!(
            "a load range may have at most {MAX_STEPS} steps, found {steps}"
        ));
    }
    let last = (steps - 1) as f64;
    Ok((0..steps)
        .map(|i| {
            if i + 1 == steps {
                high
            } else {
                round9(low + (high - low) * i as f64 / last)
            }
        })
        .collect())
}

/// One multiplier: `DIGITS[.DIGITS][x]`, above 0.
fn multiplier(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let number = text.strip_suffix('x').unwrap_or(text);
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (number, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return Err(format!(
            "`{text}` is not a load multiplier: write a number with an optional `x`, such as `0.5x`"
        ));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a load multiplier"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is too large to be a load multiplier"));
    }
    if value <= 0.0 {
        return Err(format!("a load multiplier must be above 0, found `{text}`"));
    }
    Ok(value)
}

fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}
