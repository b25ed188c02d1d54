//! `kendall simulate` against answers known in closed form.
//!
//! Every exact value is computed here from its formula. A simulated figure "agrees" when the
//! exact value lies within the simulator's own confidence interval, widened for the number of
//! comparisons in this file (Bonferroni): each interval is taken at level 1 − 0.05/K with
//! K = [`COMPARISONS`], so that all of them together hold with probability at least 95%. Counts
//! of independent events (attempts, failures) are checked at 4 standard errors.

mod support;

use kendall::resolve::MemoryLoader;
use kendall::simulate::{self, Estimate, Options, Simulation};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::process::Output;

/// Interval comparisons made in this file (an upper bound), for the Bonferroni correction.
const COMPARISONS: f64 = 80.0;

fn model_with(src: &str, loader: &MemoryLoader) -> kendall::model::Model {
    let c = kendall::compile("t.arch", src.as_bytes(), loader);
    assert!(c.model.is_some(), "{}", support::render_all(&c));
    c.model.unwrap()
}

fn run_with(src: &str, loader: &MemoryLoader, options: &Options) -> Simulation {
    let model = model_with(src, loader);
    simulate::simulate(&model, options).expect("the design simulates")
}

fn run(src: &str, requests: u64) -> Simulation {
    let options = Options {
        requests,
        replications: 10,
        ..Options::default()
    };
    run_with(src, &MemoryLoader::new(), &options)
}

/// The factor that turns a 95% half-width from `r` replications into a 1 − 0.05/K one.
fn widen(r: u32) -> f64 {
    let t = StudentsT::new(0.0, 1.0, f64::from(r - 1)).unwrap();
    t.inverse_cdf(1.0 - 0.025 / COMPARISONS) / t.inverse_cdf(0.975)
}

/// Asserts that `exact` lies within the (widened) interval of `e`, and prints the error.
fn agrees(label: &str, e: Estimate, exact: f64, replications: u32) {
    let half = e.ci95.expect("an interval") * widen(replications);
    let error = (e.mean - exact) / exact;
    eprintln!(
        "{label}: simulated {:.5} ± {:.5} (95%), exact {exact:.5}, error {:+.2}%",
        e.mean,
        e.ci95.unwrap(),
        100.0 * error
    );
    assert!(
        (e.mean - exact).abs() <= half,
        "{label}: simulated {} ± {half} does not cover the exact {exact}",
        e.mean
    );
}

fn service<'s>(s: &'s Simulation, name: &str) -> &'s simulate::ServiceResult {
    s.services.iter().find(|v| v.name == name).unwrap()
}

fn workload<'s>(s: &'s Simulation, name: &str) -> &'s simulate::WorkloadResult {
    s.workloads.iter().find(|w| w.name == name).unwrap()
}

/// Erlang C for c servers at offered load a = λ/μ, by the Erlang-B recursion.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    c as f64 * b / (c as f64 - a * (1.0 - b))
}

/// M/M/c: (mean wait, mean sojourn, p99 sojourn). The wait is 0 with probability 1 − C and
/// exponential with rate θ = cμ − λ otherwise; the sojourn adds an independent Exp(μ).
fn mmc(c: u32, lambda: f64, mu: f64) -> (f64, f64, f64) {
    let p = erlang_c(c, lambda / mu);
    let theta = c as f64 * mu - lambda;
    let tail = |t: f64| {
        (1.0 - p) * (-mu * t).exp()
            + p * (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
    };
    let (mut lo, mut hi) = (0.0, 100.0 / mu);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 0.01 { lo = mid } else { hi = mid }
    }
    (p / theta, p / theta + 1.0 / mu, 0.5 * (lo + hi))
}

/// The Pollaczek–Khinchine mean wait of M/G/1.
fn pk(lambda: f64, s1: f64, s2: f64) -> f64 {
    lambda * s2 / (2.0 * (1.0 - lambda * s1))
}

/// The GI/M/1 mean wait: σ/(μ(1 − σ)), with σ the root in (0, 1) of σ = Ã(μ(1 − σ)), Ã the
/// Laplace–Stieltjes transform of the inter-arrival time (bisection).
fn gi_m_1_wait(lst: impl Fn(f64) -> f64, mu: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0 - 1e-12);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if lst(mu * (1.0 - mid)) > mid {
            lo = mid
        } else {
            hi = mid
        }
    }
    let s = 0.5 * (lo + hi);
    s / (mu * (1.0 - s))
}

// (1) Single stations with exact answers.

#[test]
fn an_mm1_station_matches_its_exponential_sojourn() {
    let s = run(
        "system s {
           workload w { entry q rate 80 rps }
           service q { replicas 1 workers 1 balance shared time exp(10ms) }
         }",
        30_000,
    );
    // Sojourn ~ Exp(μ − λ) = Exp(20/s): mean 50 ms, p99 ln(100)/20.
    let q = service(&s, "q");
    agrees("M/M/1 sojourn mean", q.sojourn_mean_s.unwrap(), 0.05, 10);
    agrees(
        "M/M/1 sojourn p99",
        q.sojourn_p99_s.unwrap(),
        100f64.ln() / 20.0,
        10,
    );
    agrees("M/M/1 wait mean", q.wait_mean_s.unwrap(), 0.04, 10);
    agrees("M/M/1 utilisation", q.utilization.unwrap(), 0.8, 10);
    let w = workload(&s, "w");
    agrees("M/M/1 end-to-end mean", w.mean_s, 0.05, 10);
    agrees("M/M/1 end-to-end p99", w.p99_s, 100f64.ln() / 20.0, 10);
    agrees("M/M/1 end-to-end p50", w.p50_s, 2f64.ln() / 20.0, 10);
    assert!(!q.saturated && w.stable);
}

#[test]
fn an_mm4_station_matches_erlang_c() {
    let s = run(
        "system s {
           workload w { entry q rate 320 rps }
           service q { replicas 4 workers 1 balance shared time exp(10ms) }
         }",
        30_000,
    );
    let (wait, sojourn, p99) = mmc(4, 320.0, 100.0);
    let q = service(&s, "q");
    agrees("M/M/4 wait mean", q.wait_mean_s.unwrap(), wait, 10);
    agrees("M/M/4 sojourn mean", q.sojourn_mean_s.unwrap(), sojourn, 10);
    agrees("M/M/4 sojourn p99", q.sojourn_p99_s.unwrap(), p99, 10);
    agrees("M/M/4 utilisation", q.utilization.unwrap(), 0.8, 10);
    // (2) Little's law, L = λW, for the station and for the workload.
    agrees(
        "Little (station)",
        q.in_system_mean,
        q.arrival_rps.mean * q.sojourn_mean_s.unwrap().mean,
        10,
    );
    let w = workload(&s, "w");
    agrees(
        "Little (workload)",
        w.in_flight_mean,
        w.arrival_rps.mean * w.mean_s.mean,
        10,
    );
    agrees("arrival rate", w.arrival_rps, 320.0, 10);
}

// (3) Conservation and the traffic equations.

const TRAFFIC: &str = "system s {
  workload w { entry a.go rate 200 rps }
  service a {
    replicas 2 workers 4
    endpoint go {
      cache hit 25% time 0.1ms
      time exp(1ms)
      call b.x times 3
      call c.y when 40%
      call d.z times 2 parallel when 50%
      call e.q async
    }
  }
  service b { replicas 2 workers 2 balance random endpoint x { time exp(1ms) } }
  service c { replicas 1 workers 2 endpoint y { time exp(2ms) call e.q } }
  service d { shards 3 replicas 1 workers 4 balance least_request endpoint z { time exp(1ms) call f when 50% } }
  service e { replicas 1 workers 4 endpoint q { time exp(0.5ms) } }
  service f { kind external time const(1ms) }
}";

#[test]
fn arrivals_follow_the_traffic_equations_and_are_conserved() {
    let s = run(TRAFFIC, 10_000);
    // By hand: 200 rps reach `a`; 150 miss its cache and make its calls. `b` gets 3 per miss,
    // `c` 40% of them, each of `d`'s 3 shards 2 × 50% (a call visits every shard), `e` one
    // async call per miss of `a` plus one per request of `c`; every shard of `d` calls `f` on
    // half of its requests.
    let expected = [
        ("a", 200.0),
        ("b", 450.0),
        ("c", 60.0),
        ("d", 150.0),
        ("e", 210.0),
        ("f", 225.0),
    ];
    for (name, rate) in expected {
        let v = service(&s, name);
        agrees(
            &format!("arrival rate of `{name}`"),
            v.arrival_rps,
            rate,
            10,
        );
        assert_eq!(v.counts.len(), 10);
        for c in &v.counts {
            assert!(c.arrivals > 0);
            assert_eq!(
                c.arrivals,
                c.completions + c.in_flight,
                "`{name}` loses or invents requests"
            );
        }
    }
    // Busy servers: λ·E[S] per shard over the servers.
    agrees(
        "utilisation of `a`",
        service(&s, "a").utilization.unwrap(),
        (50.0 * 0.0001 + 150.0 * 0.001) / 8.0,
        10,
    );
    agrees(
        "utilisation of `b`",
        service(&s, "b").utilization.unwrap(),
        450.0 * 0.001 / 4.0,
        10,
    );
    let f = service(&s, "f");
    assert_eq!(f.utilization, None);
    assert!(
        (f.sojourn_mean_s.unwrap().mean - 0.001).abs() < 1e-12,
        "{f:?}"
    );
}

// (4) Determinism.

const MIXED: &str = "system s {
  workload w { entry a.go rate 300 rps arrivals bursty(scv 3) slo p99 < 80ms slo p90 < 40ms }
  workload v { entry m.score rate 50 rps }
  service a {
    replicas 2 workers 2
    endpoint go {
      time gamma(mean 1ms, cv 0.5)
      parallel {
        call b.x timeout 8ms retries 1
        call d.z times 3 parallel
      }
      call m.score when 30%
      call e.q async
    }
  }
  service b { replicas 3 workers 1 balance least_request endpoint x { time lognormal(mean 3ms, cv 1.2) } }
  service d { shards 2 replicas 4 workers 1 balance random endpoint z { time uniform(1ms, 3ms) } }
  service m { replicas 1 workers 2 endpoint score { batch max 8 wait 2ms time 2ms + 0.5ms per item } }
  service e { replicas 1 workers 2 blocking endpoint q { time p50 0.5ms p99 3ms call x } }
  service x { kind external time exp(2ms) }
}";

#[test]
fn a_seed_gives_the_same_bytes_and_seeds_agree_within_their_intervals() {
    let model = model_with(MIXED, &MemoryLoader::new());
    let opts = |seed, threads| Options {
        requests: 2_000,
        replications: 4,
        seed,
        threads,
        ..Options::default()
    };
    let json =
        |s: &Simulation| serde_json::to_string_pretty(&simulate::report::to_json(s)).expect("json");
    let a = simulate::simulate(&model, &opts(7, 2)).unwrap();
    let b = simulate::simulate(&model, &opts(7, 2)).unwrap();
    let one_thread = simulate::simulate(&model, &opts(7, 1)).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(a, one_thread, "threads must not change the result");
    let other = simulate::simulate(&model, &opts(8, 2)).unwrap();
    assert_ne!(json(&a), json(&other));
    // Two independent estimates: their difference has half-width √(h₁² + h₂²).
    let same = |label: &str, x: Estimate, y: Estimate| {
        let half = (x.ci95.unwrap().powi(2) + y.ci95.unwrap().powi(2)).sqrt() * widen(4);
        eprintln!("seeds 7 and 8, {label}: {} vs {} (±{half})", x.mean, y.mean);
        assert!((x.mean - y.mean).abs() <= half, "{label}");
    };
    for (x, y) in a.workloads.iter().zip(&other.workloads) {
        same(&format!("{} mean", x.name), x.mean_s, y.mean_s);
        same(&format!("{} p99", x.name), x.p99_s, y.p99_s);
    }
    for (x, y) in a.services.iter().zip(&other.services) {
        same(
            &format!("{} arrivals", x.name),
            x.arrival_rps,
            y.arrival_rps,
        );
    }
    // Every feature of the design ran: retries, a batching service, a percentile SLO.
    let w = workload(&a, "w");
    assert!(w.calls.timed > 0 && w.calls.attempts >= w.calls.timed);
    assert_eq!(w.slos.len(), 2);
    assert!(w.slos[1].simulated_s.mean < w.slos[0].simulated_s.mean);
    assert!(service(&a, "m").batching);
}

// (5) One feature at a time.

#[test]
fn a_deterministic_station_waits_as_pollaczek_khinchine_says() {
    let s = run(
        "system s {
           workload w { entry q rate 80 rps }
           service q { replicas 1 workers 1 time const(10ms) }
         }",
        30_000,
    );
    // M/D/1: W = λE[S²]/(2(1 − ρ)) = 80 · 1e-4 / 0.4 = 20 ms.
    agrees(
        "M/D/1 wait",
        service(&s, "q").wait_mean_s.unwrap(),
        pk(80.0, 0.01, 1e-4),
        10,
    );
}

#[test]
fn two_exponential_shards_match_flatto_hahn() {
    let s = run(
        "system s {
           workload w { entry q rate 50 rps }
           service q { shards 2 replicas 1 workers 1 time exp(10ms) }
         }",
        25_000,
    );
    // R₂ = (12 − ρ)/8 · 1/(μ − λ) with ρ = 0.5, μ = 100, λ = 50.
    agrees(
        "fork-join of 2 M/M/1 shards (Flatto-Hahn)",
        workload(&s, "w").mean_s,
        (12.0 - 0.5) / 8.0 / 50.0,
        10,
    );
    // Each shard alone is M/M/1.
    agrees(
        "one shard's sojourn",
        service(&s, "q").sojourn_mean_s.unwrap(),
        1.0 / 50.0,
        10,
    );
}

#[test]
fn round_robin_over_two_replicas_is_an_erlang_2_queue() {
    let s = run(
        "system s {
           workload w { entry q rate 160 rps }
           service q { replicas 2 workers 1 balance round_robin time exp(10ms) }
         }",
        30_000,
    );
    // Every second arrival of a Poisson(160) stream: Erlang-2 gaps, Ã(s) = (λ/(λ+s))².
    let exact = gi_m_1_wait(|x| (160.0 / (160.0 + x)).powi(2), 100.0);
    agrees(
        "E2/M/1 wait (round_robin)",
        service(&s, "q").wait_mean_s.unwrap(),
        exact,
        10,
    );
}

#[test]
fn bursty_and_trace_arrivals_match_gi_m_1() {
    let times: String = (0..=100)
        .map(|i| format!("{}\n", i as f64 / 100.0))
        .collect();
    let loader = MemoryLoader::new().with("t.csv", times.as_bytes());
    let src = "system s {
      workload h { entry h rate 50 rps arrivals bursty(scv 4) }
      workload g { entry g rate 50 rps arrivals bursty(scv 0.5) }
      workload d { entry d arrivals trace(\"t.csv\") }
      service h { replicas 1 workers 1 time exp(10ms) }
      service g { replicas 1 workers 1 time exp(10ms) }
      service d { replicas 1 workers 1 time exp(10ms) }
    }";
    let model = model_with(src, &loader);
    let trace = simulate::parse_trace(times.as_bytes()).unwrap();
    // The trace is 100 rps; at load 0.8 it is replayed at 80 rps, and the others at 40.
    let options = Options {
        requests: 45_000,
        replications: 10,
        load: 0.8,
        traces: [("d".to_string(), trace)].into(),
        ..Options::default()
    };
    let s = simulate::simulate(&model, &options).unwrap();
    // H2 with balanced means for SCV 4 at 40 rps.
    let (scv, rate): (f64, f64) = (4.0, 40.0);
    let p = 0.5 * (1.0 + ((scv - 1.0) / (scv + 1.0)).sqrt());
    let (r1, r2) = (2.0 * p * rate, 2.0 * (1.0 - p) * rate);
    let h2 = |x: f64| p * r1 / (r1 + x) + (1.0 - p) * r2 / (r2 + x);
    agrees(
        "H2/M/1 wait (bursty scv 4)",
        service(&s, "h").wait_mean_s.unwrap(),
        gi_m_1_wait(h2, 100.0),
        10,
    );
    // Gamma(2) gaps for SCV 0.5: Ã(s) = (2λ/(2λ+s))².
    agrees(
        "E2/M/1 wait (bursty scv 0.5)",
        service(&s, "g").wait_mean_s.unwrap(),
        gi_m_1_wait(|x| (80.0 / (80.0 + x)).powi(2), 100.0),
        10,
    );
    // Constant gaps of 1/80 s: Ã(s) = e^{−s/80}.
    agrees(
        "D/M/1 wait (trace at load 0.8)",
        service(&s, "d").wait_mean_s.unwrap(),
        gi_m_1_wait(|x| (-x / 80.0).exp(), 100.0),
        10,
    );
    agrees(
        "trace rate at load 0.8",
        service(&s, "d").arrival_rps,
        80.0,
        10,
    );
}

#[test]
fn service_time_forms_match_pollaczek_khinchine() {
    let loader = MemoryLoader::new().with("s.csv", "2ms\n5ms\n9ms\n16ms\n");
    let src = "system s {
      workload l { entry l rate 50 rps }
      workload g { entry g rate 50 rps }
      workload u { entry u rate 50 rps }
      workload f { entry f rate 50 rps }
      workload e { entry e rate 50 rps }
      workload c { entry c rate 60 rps }
      service l { replicas 1 workers 1 time lognormal(mean 8ms, cv 1.5) }
      service g { replicas 1 workers 1 time gamma(mean 8ms, cv 0.5) }
      service u { replicas 1 workers 1 time uniform(4ms, 12ms) }
      service f { replicas 1 workers 1 time p50 6ms p99 20ms }
      service e { replicas 1 workers 1 time empirical(\"s.csv\") }
      service c { replicas 1 workers 1 endpoint q { cache hit 30% time 1ms  time exp(10ms) } }
    }";
    let options = Options {
        requests: 60_000,
        replications: 10,
        ..Options::default()
    };
    let s = run_with(src, &loader, &options);
    let m = 0.008;
    // Fitted: the lognormal through (p50, 6 ms) and (p99, 20 ms).
    let sigma = (20.0f64 / 6.0).ln() / 2.326_347_874_040_841;
    let mu = 0.006f64.ln();
    let (f1, f2) = (
        (mu + sigma * sigma / 2.0).exp(),
        (2.0 * mu + 2.0 * sigma * sigma).exp(),
    );
    let cases = [
        ("l", m, m * m * (1.0 + 1.5 * 1.5)),
        ("g", m, m * m * 1.25),
        ("u", m, 0.008f64.powi(2) / 12.0 + m * m),
        ("f", f1, f2),
        ("e", m, (4.0 + 25.0 + 81.0 + 256.0) / 4.0 * 1e-6),
    ];
    for (name, s1, s2) in cases {
        agrees(
            &format!("M/G/1 wait, `{name}`"),
            service(&s, name).wait_mean_s.unwrap(),
            pk(50.0, s1, s2),
            10,
        );
    }
    // A cache: hits hold the server for 1 ms, misses for exp(10 ms).
    let (s1, s2) = (0.3 * 0.001 + 0.7 * 0.01, 0.3 * 1e-6 + 0.7 * 2e-4);
    agrees(
        "M/G/1 wait, cache mixture",
        service(&s, "c").wait_mean_s.unwrap(),
        pk(60.0, s1, s2),
        10,
    );
}

#[test]
fn a_blocking_worker_holds_through_its_call() {
    let s = run(
        "system s {
           workload w { entry a.go rate 60 rps }
           service a { replicas 1 workers 1 blocking endpoint go { time exp(4ms) call x } }
           service x { kind external time exp(6ms) }
         }",
        30_000,
    );
    // The holding time is Exp(4 ms) + Exp(6 ms): E[S] = 10 ms, E[S²] = 2·4² + 2·6² + 2·4·6 ms².
    let (s1, s2) = (0.01, 152e-6);
    let a = service(&s, "a");
    agrees(
        "blocking M/G/1 wait",
        a.wait_mean_s.unwrap(),
        pk(60.0, s1, s2),
        10,
    );
    agrees(
        "blocking M/G/1 sojourn",
        a.sojourn_mean_s.unwrap(),
        pk(60.0, s1, s2) + s1,
        10,
    );
    agrees("blocking utilisation", a.utilization.unwrap(), 0.6, 10);
    agrees(
        "blocking end-to-end mean",
        workload(&s, "w").mean_s,
        pk(60.0, s1, s2) + s1,
        10,
    );
}

#[test]
fn least_request_lies_between_one_shared_queue_and_random_splitting() {
    let s = run(
        "system s {
           workload s { entry s rate 320 rps }
           workload l { entry l rate 320 rps }
           workload r { entry r rate 320 rps }
           service s { replicas 4 workers 1 balance shared time exp(10ms) }
           service l { replicas 4 workers 1 balance least_request time exp(10ms) }
           service r { replicas 4 workers 1 balance random time exp(10ms) }
         }",
        60_000,
    );
    let (shared, _, _) = mmc(4, 320.0, 100.0);
    // Random splitting of a Poisson stream: four M/M/1 queues at 80 rps.
    let (random, _, _) = mmc(1, 80.0, 100.0);
    agrees(
        "M/M/4 wait",
        service(&s, "s").wait_mean_s.unwrap(),
        shared,
        10,
    );
    agrees(
        "random: M/M/1 wait",
        service(&s, "r").wait_mean_s.unwrap(),
        random,
        10,
    );
    let jsq = service(&s, "l").wait_mean_s.unwrap();
    let half = jsq.ci95.unwrap() * widen(10);
    eprintln!(
        "least_request wait {:.5} ± {half:.5}, between {shared:.5} and {random:.5}",
        jsq.mean
    );
    assert!(
        jsq.mean - half > shared && jsq.mean + half < random,
        "{jsq:?}"
    );
}

#[test]
fn batching_with_max_one_is_a_deterministic_queue() {
    let s = run(
        "system s {
           workload w { entry m.score rate 80 rps }
           service m { replicas 1 workers 1 endpoint score { batch max 1  time 4ms + 6ms per item } }
         }",
        30_000,
    );
    // Every batch is one request taking 10 ms: M/D/1.
    let m = service(&s, "m");
    agrees(
        "batch of 1: M/D/1 wait",
        m.wait_mean_s.unwrap(),
        pk(80.0, 0.01, 1e-4),
        10,
    );
    agrees("batch of 1: load fraction", m.utilization.unwrap(), 0.8, 10);
    agrees(
        "batch of 1: busy fraction",
        m.busy_fraction.unwrap(),
        0.8,
        10,
    );
}

#[test]
fn batches_fill_up_or_leave_on_their_timer() {
    let s = run(
        "system s {
           workload full { entry full.go rate 100 rps }
           workload timed { entry timed.go rate 10 rps }
           service full { replicas 1 workers 1 endpoint go { batch max 4 wait 10s  time 0.1ms + 0.1ms per item } }
           service timed { replicas 1 workers 1 endpoint go { batch max 100 wait 20ms  time 1ms + 0.1ms per item } }
         }",
        33_000,
    );
    // `full`: the 10 s timer never fires and the instance is free long before the next 4
    // arrive, so the k-th request of a batch waits for 4 − k more Poisson(100) arrivals:
    // (3 + 2 + 1 + 0)/4 gaps of 10 ms. Batches take 0.5 ms.
    let full = service(&s, "full");
    agrees("full batches: wait", full.wait_mean_s.unwrap(), 0.015, 10);
    agrees(
        "full batches: sojourn",
        full.sojourn_mean_s.unwrap(),
        0.0155,
        10,
    );
    agrees(
        "full batches: busy fraction",
        full.busy_fraction.unwrap(),
        25.0 * 0.0005,
        10,
    );
    agrees(
        "full batches: load fraction",
        full.utilization.unwrap(),
        100.0 * 0.0005 / 4.0,
        10,
    );
    // `timed`: a batch is the first arrival plus the Poisson(λT = 0.2) arrivals of the next
    // 20 ms, spread uniformly; by renewal reward the mean wait is T(1 + λT/2)/(1 + λT). The
    // batch of b takes 1 + 0.1·b ms, weighted by b: 1 + 0.1·E[b²]/E[b], b = 1 + Poisson(0.2).
    let wait = 0.02 * 1.1 / 1.2;
    let batch = 0.001 + 0.0001 * (0.2 + 1.44) / 1.2;
    let timed = service(&s, "timed");
    agrees("timed batches: wait", timed.wait_mean_s.unwrap(), wait, 10);
    agrees(
        "timed batches: sojourn",
        timed.sojourn_mean_s.unwrap(),
        wait + batch,
        10,
    );
}

#[test]
fn timeouts_retry_as_often_as_the_callee_is_late() {
    let s = run(
        "system s {
           workload w { entry a.go rate 50 rps }
           service a { replicas 1 workers 1 endpoint go { time const(0ms) call x timeout 15ms retries 2 } }
           service x { kind external time exp(10ms) }
         }",
        15_000,
    );
    // Each attempt is late independently with P = e^{−15/10}.
    let p = (-1.5f64).exp();
    let w = workload(&s, "w");
    let n = w.calls.timed as f64;
    assert_eq!(w.calls.timed, 150_000);
    // Attempts per call: 1, 2 or 3 with probabilities 1 − p, p(1 − p), p².
    let dist = [(1.0, 1.0 - p), (2.0, p * (1.0 - p)), (3.0, p * p)];
    let mean: f64 = dist.iter().map(|(k, q)| k * q).sum();
    let var: f64 = dist.iter().map(|(k, q)| (k - mean).powi(2) * q).sum();
    let attempts = w.calls.attempts as f64 / n;
    eprintln!("attempts per call {attempts:.5}, exact {mean:.5}");
    assert!((attempts - mean).abs() <= 4.0 * (var / n).sqrt());
    // A call fails when all three attempts are late.
    let failed = w.calls.failed as f64 / n;
    let q = p.powi(3);
    eprintln!("failed calls {failed:.5}, exact {q:.5}");
    assert!((failed - q).abs() <= 4.0 * (q * (1.0 - q) / n).sqrt());
    assert_eq!(
        w.calls.timeouts,
        w.calls.attempts - w.calls.timed + w.calls.failed
    );
    // The callee sees every attempt, answered or abandoned.
    agrees(
        "attempts reaching the callee",
        service(&s, "x").arrival_rps,
        50.0 * mean,
        10,
    );
    // Latency: the k-th attempt answers at k·T + D given D < T, E[D | D < T] = m − T·p/(1 − p);
    // all late: 3T.
    let answered = 0.01 - 0.015 * p / (1.0 - p);
    let latency: f64 = (0..3)
        .map(|k| p.powi(k) * (1.0 - p) * (k as f64 * 0.015 + answered))
        .sum::<f64>()
        + q * 0.045;
    agrees("latency with retries", w.mean_s, latency, 10);
}

#[test]
fn external_delays_and_call_shapes_add_their_exact_means() {
    let s = run(
        "system s {
           workload one { entry a.one rate 50 rps }
           workload seq { entry a.seq rate 50 rps }
           workload fan { entry a.fan rate 50 rps }
           workload par { entry a.par rate 50 rps }
           workload when { entry a.when rate 50 rps }
           service a {
             replicas 1 workers 1
             endpoint one { time const(0ms) call u }
             endpoint seq { time const(0ms) call x times 3 }
             endpoint fan { time const(0ms) call x times 3 parallel }
             endpoint par { time const(0ms) parallel { call x call y } }
             endpoint when { time const(0ms) call x when 40% }
           }
           service u { kind external time uniform(10ms, 30ms) }
           service x { kind external time exp(10ms) }
           service y { kind external time exp(20ms) }
         }",
        30_000,
    );
    let cases = [
        ("one", 0.02),
        // Three in a row.
        ("seq", 0.03),
        // The largest of three Exp(10 ms): H₃ · 10 ms.
        ("fan", 0.01 * (1.0 + 0.5 + 1.0 / 3.0)),
        // E[max(X, Y)] = E[X] + E[Y] − 1/(1/10 + 1/20) ms.
        ("par", 0.01 + 0.02 - 1.0 / (100.0 + 50.0)),
        ("when", 0.4 * 0.01),
    ];
    for (name, mean) in cases {
        agrees(
            &format!("`{name}` latency"),
            workload(&s, name).mean_s,
            mean,
            10,
        );
    }
    agrees("uniform median", workload(&s, "one").p50_s, 0.02, 10);
}

#[test]
fn an_overloaded_station_is_reported_saturated_and_the_run_ends() {
    let s = run(
        "system s {
           workload w { entry q rate 120 rps slo p99 < 1s }
           service q { replicas 1 workers 1 time exp(10ms) }
         }",
        5_000,
    );
    let q = service(&s, "q");
    assert!(q.saturated, "{q:?}");
    assert!(q.utilization.unwrap().mean > 0.99);
    assert!(!workload(&s, "w").stable);
    assert!(simulate::failed(&s));
    // A stable design fails only on its SLOs.
    let ok = run(
        "system s {
           workload w { entry q rate 50 rps slo mean < 1s }
           service q { replicas 1 workers 1 time exp(10ms) }
         }",
        2_000,
    );
    assert!(!simulate::failed(&ok));
}

#[test]
fn designs_it_cannot_simulate_are_errors_not_panics() {
    let model = model_with(
        "system s {
           workload w { entry a.go rate 10 rps }
           service a { replicas 1 endpoint go { time exp(1ms) call b.go async } }
           service b { replicas 1 endpoint go { time exp(1ms) call a.go times 2 async } }
         }",
        &MemoryLoader::new(),
    );
    let e = simulate::simulate(&model, &Options::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "calls between `a`, `b` multiply load without bound"
    );
    let bad = Options {
        replications: 0,
        ..Options::default()
    };
    assert!(matches!(
        simulate::simulate(&model, &bad),
        Err(simulate::Error::InvalidOptions(_))
    ));
    let traced = model_with(
        "system s { workload w { entry a arrivals trace(\"t.csv\") } service a { time exp(1ms) } }",
        &MemoryLoader::new().with("t.csv", "0\n1\n2\n"),
    );
    assert!(matches!(
        simulate::simulate(&traced, &Options::default()),
        Err(simulate::Error::MissingTrace { .. })
    ));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_cli_simulates_an_example_as_json() {
    let args = [
        "simulate",
        "examples/fraud.arch",
        "--requests",
        "10000",
        "--replications",
        "2",
        "--replicas",
        "rules=2,scoring=2,edge=3",
        "--format",
        "json",
    ];
    let o = support::kendall(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["simulation"]["requests"], 10000);
    assert_eq!(v["simulation"]["replications"], 2);
    let w = &v["workloads"][0];
    for key in [
        "name", "rate_rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "slos", "ci95",
    ] {
        assert!(w.get(key).is_some(), "workload key `{key}`");
    }
    assert!(w["ci95"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(w["slos"][0]["stat"], "p50");
    let svc = &v["services"][0];
    for key in [
        "name",
        "arrival_rps",
        "replicas",
        "servers",
        "utilization",
        "utilization_ci95",
        "wait_mean_ms",
        "sojourn_mean_ms",
        "sojourn_p99_ms",
        "model",
        "saturated",
    ] {
        assert!(svc.get(key).is_some(), "service key `{key}`");
    }
    assert_eq!(svc["model"], "simulation");
    assert_eq!(svc["replicas"], 3);
    assert!(v["diagnostics"].is_array());
    // The same seed prints the same bytes.
    assert_eq!(support::kendall(&args).stdout, o.stdout);
    // At the design's own replicas `rules` is overloaded: saturated, exit 1.
    let o = support::kendall(&[
        "simulate",
        "examples/fraud.arch",
        "--requests",
        "5000",
        "--replications",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("← saturated"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("rules") && l.contains("saturated")),
        "{table}"
    );
}

#[test]
fn bad_options_are_usage_errors() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--requests", "lots"],
            "error: `--requests lots` is not a request count",
        ),
        (
            &["--replications", "0"],
            "error: `--replications 0` is not a replication count",
        ),
        (&["--seed", "1.5"], "error: `--seed 1.5` is not a seed"),
        (&["--replicas", "nope=2"], "error: no service named `nope`"),
        (
            &["--replicas", "rules=100000000"],
            "error: `rules` would have 200000000 servers per shard",
        ),
        (
            &["--load", "fast"],
            "error: `--load fast` is not a load multiplier",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["simulate", "examples/fraud.arch"];
        if extra[0] != "--requests" {
            args.extend(["--requests", "100"]);
        }
        args.extend_from_slice(extra);
        let o = support::kendall(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(message), "{extra:?}: {err}");
        assert!(err.contains("help: "), "{extra:?}: {err}");
    }
    let o = support::kendall(&["simulate", "no/such.arch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read `no/such.arch`"));
}

#[test]
fn a_missing_trace_file_is_named() {
    let dir = std::env::temp_dir().join(format!("kendall-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let design = dir.join("d.arch");
    std::fs::write(
        &design,
        "system s { workload w { entry a arrivals trace(\"gone.csv\") } service a { time exp(1ms) } }",
    )
    .unwrap();
    let o = support::kendall(&["simulate", design.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("gone.csv"), "{}", stderr(&o));
    // With the file present, it is replayed.
    std::fs::write(dir.join("gone.csv"), "0\n0.01\n0.02\n0.04\n").unwrap();
    let o = support::kendall(&[
        "simulate",
        design.to_str().unwrap(),
        "--requests",
        "2000",
        "--replications",
        "2",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["workloads"][0]["rate_rps"], 75.0);
}
