//! Units and dimensions: every quantity is checked against what its field expects and
//! normalised to SI (seconds, requests/s, bytes, cores, plain ratios, dollars per hour).

use super::Checker;
use crate::diagnostics::{Diagnostic, closest, codes, one_of};
use crate::syntax::ast::{Money, Quantity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Time,
    Rate,
    Memory,
    Cpu,
    Ratio,
    Factor,
    Count,
    Work,
}

impl Dim {
    fn noun(self) -> &'static str {
        match self {
            Dim::Time => "a time",
            Dim::Rate => "a rate",
            Dim::Memory => "an amount of memory",
            Dim::Cpu => "cpu cores",
            Dim::Ratio => "a ratio",
            Dim::Factor => "a load multiplier",
            Dim::Count => "a plain number",
            Dim::Work => "an amount of work",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Dim::Time => "`120ms`, `2s` or `5min`",
            Dim::Rate => "`2400 rps`, `90 rpm` or `10 rph`",
            Dim::Memory => "`512Mi` or `4Gi`",
            Dim::Cpu => "`500m` or `2`",
            Dim::Ratio => "`85%` or `0.85`",
            Dim::Factor => "`3x`",
            Dim::Count => "`4`",
            Dim::Work => "`96 gpu-hours`",
        }
    }

    /// The number with this dimension's most common unit, for a suggestion.
    fn with_unit(self, number: &str) -> String {
        match self {
            Dim::Time => format!("{number}ms"),
            Dim::Rate => format!("{number} rps"),
            Dim::Memory => format!("{number}Mi"),
            Dim::Work => format!("{number} gpu-hours"),
            Dim::Factor => format!("{number}x"),
            Dim::Cpu | Dim::Ratio | Dim::Count => number.to_string(),
        }
    }

    /// Whether a number without a unit is acceptable.
    fn unitless_ok(self) -> bool {
        matches!(self, Dim::Cpu | Dim::Ratio | Dim::Factor | Dim::Count)
    }
}

/// `(unit, dimension, multiply, divide)`: SI value = value × multiply ÷ divide. Dividing rather
/// than multiplying by 0.001 keeps `1.2ms` at exactly the double nearest 0.0012.
const UNITS: &[(&str, Dim, f64, f64)] = &[
    ("us", Dim::Time, 1.0, 1e6),
    ("ms", Dim::Time, 1.0, 1e3),
    ("s", Dim::Time, 1.0, 1.0),
    ("min", Dim::Time, 60.0, 1.0),
    ("h", Dim::Time, 3600.0, 1.0),
    ("rps", Dim::Rate, 1.0, 1.0),
    ("rpm", Dim::Rate, 1.0, 60.0),
    ("rph", Dim::Rate, 1.0, 3600.0),
    ("Ki", Dim::Memory, 1024.0, 1.0),
    ("Mi", Dim::Memory, 1048576.0, 1.0),
    ("Gi", Dim::Memory, 1073741824.0, 1.0),
    ("Ti", Dim::Memory, 1099511627776.0, 1.0),
    ("m", Dim::Cpu, 1.0, 1000.0),
    ("%", Dim::Ratio, 1.0, 100.0),
    ("x", Dim::Factor, 1.0, 1.0),
    ("gpu-hours", Dim::Work, 1.0, 1.0),
    ("cpu-hours", Dim::Work, 1.0, 1.0),
];

/// Common spellings from other tools, and what we write instead.
const ALIASES: &[(&str, &str)] = &[
    ("K", "Ki"),
    ("M", "Mi"),
    ("G", "Gi"),
    ("T", "Ti"),
    ("KB", "Ki"),
    ("MB", "Mi"),
    ("GB", "Gi"),
    ("TB", "Ti"),
    ("Mb", "Mi"),
    ("Gb", "Gi"),
    ("sec", "s"),
    ("secs", "s"),
    ("mins", "min"),
    ("hr", "h"),
    ("hrs", "h"),
    ("qps", "rps"),
    ("rpmin", "rpm"),
    ("µs", "us"),
];

/// Money bases: `$X/BASE` → dollars per hour = X × multiply ÷ divide.
const MONEY_BASES: &[(&str, f64, f64)] = &[
    ("s", 3600.0, 1.0),
    ("min", 60.0, 1.0),
    ("h", 1.0, 1.0),
    ("day", 1.0, 24.0),
    // 730 hours: the month cloud providers bill by (8760 h / 12).
    ("month", 1.0, 730.0),
    ("year", 1.0, 8760.0),
];

impl<'a> Checker<'a> {
    /// The digits of a quantity as written, without its unit.
    pub fn digits(&self, q: &Quantity) -> &'a str {
        let text = self.sources.text(q.span);
        &text[..text
            .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
            .unwrap_or(text.len())]
    }

    /// The quantity in SI units, or `None` after reporting why it does not fit `want`.
    pub fn quantity(&mut self, q: &Quantity, want: Dim, field: &str) -> Option<f64> {
        let sources = self.sources;
        let written = || sources.text(q.span);
        let Some(unit) = &q.unit else {
            if want.unitless_ok() {
                return Some(q.value);
            }
            self.report(
                Diagnostic::new(
                    codes::MISSING_UNIT,
                    format!(
                        "`{field}` needs {}, and `{}` has no unit",
                        want.noun(),
                        written()
                    ),
                )
                .at(q.span, "no unit")
                .help(format!(
                    "write `{}`; the units of {} are {}",
                    want.with_unit(self.digits(q)),
                    want.noun(),
                    one_of(
                        &UNITS
                            .iter()
                            .filter(|u| u.1 == want)
                            .map(|u| u.0)
                            .collect::<Vec<_>>()
                    )
                )),
            );
            return None;
        };
        if want == Dim::Count {
            let help = if unit.name == "%" {
                format!("write the fraction: `{field} {}`", q.value / 100.0)
            } else {
                format!("write `{field} {}`", self.digits(q))
            };
            self.report(
                Diagnostic::new(
                    codes::UNEXPECTED_UNIT,
                    format!("`{field}` takes a plain number, found `{}`", written()),
                )
                .at(unit.span, "remove this unit")
                .help(help),
            );
            return None;
        }
        let Some(&(_, dim, mul, div)) = UNITS.iter().find(|u| u.0 == unit.name) else {
            let suggestion = ALIASES
                .iter()
                .find(|a| a.0 == unit.name)
                .map(|a| a.1)
                .or_else(|| {
                    closest(
                        &unit.name,
                        UNITS.iter().filter(|u| u.1 == want).map(|u| u.0),
                    )
                })
                .or_else(|| closest(&unit.name, UNITS.iter().map(|u| u.0)));
            let help = match suggestion {
                Some(s) => format!("did you mean `{}{s}`?", self.digits(q)),
                None => format!(
                    "`{field}` takes {}, for example {}",
                    want.noun(),
                    want.example()
                ),
            };
            self.report(
                Diagnostic::new(codes::UNKNOWN_UNIT, format!("unknown unit `{}`", unit.name))
                    .at(unit.span, "not a unit kendall knows")
                    .help(help),
            );
            return None;
        };
        if dim != want {
            let hint = match (want, dim) {
                (Dim::Time, Dim::Rate) => {
                    " — a rate counts requests per second; a time is how long one takes"
                }
                (Dim::Rate, Dim::Time) => {
                    " — a time is how long a request takes; a rate counts requests per unit of time"
                }
                _ => "",
            };
            self.report(
                Diagnostic::new(
                    codes::WRONG_DIMENSION,
                    format!(
                        "`{field}` needs {}, found {} `{}`",
                        want.noun(),
                        dim.noun(),
                        written()
                    ),
                )
                .at(q.span, format!("this is {}", dim.noun()))
                .help(format!(
                    "write {}, for example {}{hint}",
                    want.noun(),
                    want.example()
                )),
            );
            return None;
        }
        Some(q.value * mul / div)
    }

    /// Dollars per hour.
    pub fn money_per_hour(&mut self, m: &Money, field: &str) -> Option<f64> {
        let Some(per) = &m.per else {
            self.report(
                Diagnostic::new(
                    codes::MISSING_UNIT,
                    format!("`{field}` needs an amount per time"),
                )
                .at(m.span, "no time basis")
                .help(format!(
                    "add the period the amount is for: `{}/{}`",
                    self.sources.text(m.span),
                    if field == "budget" { "month" } else { "h" }
                )),
            );
            return None;
        };
        match MONEY_BASES.iter().find(|b| b.0 == per.name) {
            Some(&(_, mul, div)) => Some(m.value * mul / div),
            None => {
                let help = match closest(&per.name, MONEY_BASES.iter().map(|b| b.0)) {
                    Some(s) => format!("did you mean `/{s}`?"),
                    None => {
                        "write the amount per `s`, `min`, `h`, `day`, `month` or `year`".to_string()
                    }
                };
                self.report(
                    Diagnostic::new(
                        codes::UNKNOWN_UNIT,
                        format!("unknown time basis `/{}`", per.name),
                    )
                    .at(per.span, "not a time basis")
                    .help(help),
                );
                None
            }
        }
    }

    /// A positive time in seconds.
    pub fn positive_time(&mut self, q: &Quantity, field: &str) -> Option<f64> {
        let v = self.quantity(q, Dim::Time, field)?;
        self.positive(v, q, field)
    }

    pub fn positive(&mut self, v: f64, q: &Quantity, field: &str) -> Option<f64> {
        if v > 0.0 && v.is_finite() {
            return Some(v);
        }
        self.report(
            Diagnostic::new(
                codes::VALUE_OUT_OF_RANGE,
                format!("`{field}` must be greater than zero"),
            )
            .at(
                q.span,
                if v.is_finite() {
                    "zero here"
                } else {
                    "too large"
                },
            )
            .help(format!("give `{field}` a positive value")),
        );
        None
    }

    /// A ratio in [0, 1] (or (0, 1] when `allow_zero` is false).
    pub fn ratio(&mut self, q: &Quantity, field: &str, allow_zero: bool) -> Option<f64> {
        let v = self.quantity(q, Dim::Ratio, field)?;
        let low_ok = if allow_zero { v >= 0.0 } else { v > 0.0 };
        if low_ok && v <= 1.0 {
            return Some(v);
        }
        let range = if allow_zero {
            "0% to 100%"
        } else {
            "above 0% and at most 100%"
        };
        let shown = self.sources.text(q.span).to_string();
        let help = if q.unit.is_none() && v > 1.0 && v <= 100.0 {
            format!(
                "a plain number is a fraction of 1; write `{}%` for a percentage",
                self.digits(q)
            )
        } else {
            format!("`{field}` is a fraction: {range}")
        };
        self.report(
            Diagnostic::new(
                codes::RATIO_OUT_OF_RANGE,
                format!("`{field}` must be {range}, found `{shown}`"),
            )
            .at(q.span, "out of range")
            .help(help),
        );
        None
    }

    /// A whole number in `min..=max`.
    pub fn count(&mut self, q: &Quantity, field: &str, min: u32, max: u32) -> Option<u32> {
        let v = self.quantity(q, Dim::Count, field)?;
        if v.fract() != 0.0 {
            self.report(
                Diagnostic::new(
                    codes::NOT_WHOLE,
                    format!(
                        "`{field}` must be a whole number, found `{}`",
                        self.digits(q)
                    ),
                )
                .at(q.span, "not a whole number")
                .help(format!(
                    "use a whole number such as `{}`",
                    v.round().max(min as f64)
                )),
            );
            return None;
        }
        if v < min as f64 || v > max as f64 {
            self.report(
                Diagnostic::new(
                    codes::VALUE_OUT_OF_RANGE,
                    format!(
                        "`{field}` must be between {min} and {max}, found `{}`",
                        self.digits(q)
                    ),
                )
                .at(q.span, "out of range")
                .help(format!("choose a value from {min} to {max}")),
            );
            return None;
        }
        Some(v as u32)
    }
}
