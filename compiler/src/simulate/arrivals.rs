//! Workload arrival processes: the gap to the next request, and reading trace files.

use super::sample::SimRng;
use crate::model::Arrivals;
use rand::RngExt;
use rand_distr::{Distribution, Exp1, Gamma};

/// A renewal process of inter-arrival gaps, in seconds.
#[derive(Clone, Debug)]
pub(crate) enum Gaps {
    /// Poisson: exponential gaps.
    Exp { mean: f64 },
    /// SCV > 1: the two-phase hyperexponential with balanced means (each phase carries half
    /// the mean): phase 1 with probability `p`, mean `mean1`; else phase 2, mean `mean2`.
    Hyper { p: f64, mean1: f64, mean2: f64 },
    /// SCV < 1: gamma gaps of shape 1/SCV (Erlang when that is a whole number).
    Gamma(Gamma<f64>),
    /// A recorded trace's gaps, already scaled to the target rate, replayed in order from a
    /// random start and wrapped around at the end.
    Trace(Box<[f64]>),
}

impl Gaps {
    /// The gaps of `arrivals` at `rate` requests per second. A trace needs its timestamps,
    /// which the model does not carry: `trace` gives them (`None` is an error for the caller
    /// to report). `None` for periodic (job) workloads, which send no requests.
    pub(crate) fn new(
        arrivals: &Arrivals,
        rate: f64,
        trace: Option<&[f64]>,
    ) -> Result<Option<Gaps>, String> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("the arrival rate {rate} is not positive"));
        }
        let mean = 1.0 / rate;
        Ok(Some(match *arrivals {
            Arrivals::Poisson => Gaps::Exp { mean },
            Arrivals::Bursty { scv } if scv > 1.0 && scv.is_finite() => {
                let p = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
                Gaps::Hyper {
                    p,
                    mean1: mean / (2.0 * p),
                    mean2: mean / (2.0 * (1.0 - p)),
                }
            }
            Arrivals::Bursty { scv } if scv < 1.0 && scv > 0.0 => Gaps::Gamma(
                Gamma::new(1.0 / scv, mean * scv).map_err(|e| format!("bursty arrivals: {e}"))?,
            ),
            Arrivals::Bursty { scv: 1.0 } => Gaps::Exp { mean },
            Arrivals::Bursty { scv } => return Err(format!("`bursty(scv {scv})` is not valid")),
            Arrivals::Trace { .. } => {
                let times = trace.ok_or_else(|| "no timestamps were given".to_string())?;
                let gaps = trace_gaps(times)?;
                // Scale the recorded gaps so that their mean is 1/rate: 1/load when the
                // workload's rate is the trace's own.
                let recorded = gaps.iter().sum::<f64>() / gaps.len() as f64;
                let scale = mean / recorded;
                Gaps::Trace(gaps.iter().map(|g| g * scale).collect())
            }
            Arrivals::Periodic { .. } => return Ok(None),
        }))
    }

    /// Where a replication starts replaying a trace (0 for the other processes).
    pub(crate) fn start(&self, rng: &mut SimRng) -> usize {
        match self {
            Gaps::Trace(g) => rng.random_range(0..g.len()),
            _ => 0,
        }
    }

    #[inline]
    pub(crate) fn next(&self, pos: &mut usize, rng: &mut SimRng) -> f64 {
        match self {
            Gaps::Exp { mean } => mean * rng.sample::<f64, _>(Exp1),
            Gaps::Hyper { p, mean1, mean2 } => {
                let m = if rng.random::<f64>() < *p {
                    mean1
                } else {
                    mean2
                };
                m * rng.sample::<f64, _>(Exp1)
            }
            Gaps::Gamma(g) => g.sample(rng),
            Gaps::Trace(g) => {
                let gap = g[*pos];
                *pos = if *pos + 1 == g.len() { 0 } else { *pos + 1 };
                gap
            }
        }
    }
}

/// The gaps between timestamps: at least 3 finite, non-negative timestamps, in order, spread
/// over time (the checker's rules for trace files).
pub(crate) fn trace_gaps(times: &[f64]) -> Result<Vec<f64>, String> {
    if times.iter().any(|t| !t.is_finite() || *t < 0.0) {
        return Err("timestamps must be finite and not negative".into());
    }
    if times.windows(2).any(|w| w[1] < w[0]) {
        return Err("timestamps must not go backwards".into());
    }
    if times.len() < 3 || times[times.len() - 1] <= times[0] {
        return Err("a trace needs at least 3 arrivals spread over time".into());
    }
    Ok(times.windows(2).map(|w| w[1] - w[0]).collect())
}

/// A line of a trace file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based; 0 when the problem is the whole file.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// Reads a trace file the way the checker does (`docs/model-json.md`, Arrivals): one timestamp
/// per line, in seconds, or with a unit `ms`, `us` or `s`; only the first comma-separated column;
/// blank lines and lines starting with `#` skipped; non-decreasing; at least 3 arrivals spread
/// over time.
pub fn parse_trace(bytes: &[u8]) -> Result<Vec<f64>, TraceError> {
    let text = std::str::from_utf8(bytes).map_err(|_| TraceError {
        line: 0,
        message: "the file is not utf-8 text".into(),
    })?;
    let mut times: Vec<f64> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let field = line.split(',').next().unwrap_or("").trim();
        let Some(t) = crate::check::parse_time(field).filter(|t| *t >= 0.0) else {
            return Err(TraceError {
                line: i + 1,
                message: format!("`{field}` is not a timestamp in seconds"),
            });
        };
        if times.last().is_some_and(|&prev| t < prev) {
            return Err(TraceError {
                line: i + 1,
                message: "timestamps must not go backwards".into(),
            });
        }
        times.push(t);
    }
    trace_gaps(&times).map_err(|message| TraceError { line: 0, message })?;
    Ok(times)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn gap_moments(g: &Gaps, n: usize) -> (f64, f64) {
        let mut rng = SimRng::seed_from_u64(11);
        let mut pos = g.start(&mut rng);
        let xs: Vec<f64> = (0..n).map(|_| g.next(&mut pos, &mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        (mean, var / (mean * mean))
    }

    #[test]
    fn bursty_gaps_have_the_rate_and_scv_asked_for() {
        for scv in [0.25, 0.5, 1.0, 2.0, 4.0, 9.0] {
            let g = Gaps::new(&Arrivals::Bursty { scv }, 200.0, None)
                .unwrap()
                .unwrap();
            let (mean, c2) = gap_moments(&g, 1_000_000);
            assert!((mean * 200.0 - 1.0).abs() < 0.01, "scv {scv}: mean {mean}");
            assert!((c2 - scv).abs() < 0.04 * scv, "scv {scv}: measured {c2}");
        }
    }

    #[test]
    fn a_trace_replays_its_gaps_scaled_to_the_rate_and_wraps() {
        let times = [0.0, 0.1, 0.3, 0.6];
        // The trace's own rate is 3 / 0.6 = 5 rps; at 10 rps every gap halves.
        let g = Gaps::new(
            &Arrivals::Trace {
                file: "t".into(),
                arrivals: 4,
                rate_rps: 5.0,
                scv: 0.0,
            },
            10.0,
            Some(&times),
        )
        .unwrap()
        .unwrap();
        let mut rng = SimRng::seed_from_u64(1);
        let mut pos = 1;
        let got: Vec<f64> = (0..4).map(|_| g.next(&mut pos, &mut rng)).collect();
        let want = [0.1, 0.15, 0.05, 0.1];
        for (a, b) in got.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{got:?}");
        }
    }

    #[test]
    fn trace_files_are_read_like_the_checker_reads_them() {
        let ok = b"# ts\n0\n\n 0.5s, extra\n750ms\n1000000us\n";
        assert_eq!(parse_trace(ok).unwrap(), vec![0.0, 0.5, 0.75, 1.0]);
        let back = parse_trace(b"0\n2\n1\n").unwrap_err();
        assert_eq!(back.line, 3);
        assert_eq!(back.message, "timestamps must not go backwards");
        let junk = parse_trace(b"0\nsoon\n").unwrap_err();
        assert_eq!(
            junk.to_string(),
            "line 2: `soon` is not a timestamp in seconds"
        );
        let short = parse_trace(b"1\n1\n1\n").unwrap_err();
        assert_eq!(short.line, 0);
        assert!(parse_trace(b"\xff\xfe").is_err());
    }

    #[test]
    fn periodic_workloads_send_no_requests() {
        let g = Gaps::new(&Arrivals::Periodic { every_s: 60.0 }, 1.0, None).unwrap();
        assert!(g.is_none());
        assert!(Gaps::new(&Arrivals::Poisson, 0.0, None).is_err());
        assert!(Gaps::new(&Arrivals::Bursty { scv: -1.0 }, 1.0, None).is_err());
    }
}
