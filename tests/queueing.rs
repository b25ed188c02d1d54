//! Known answers for the queueing models.
//!
//! The M/M/c table was computed independently with 50-digit arithmetic (Python mpmath: Erlang C
//! from its factorial sum, sojourn percentiles by bisecting the closed-form tail), for a 10 ms
//! mean service time, c from 1 to 64 and utilisation from 0.3 to 0.95. Rows where
//! c·(1 − ρ) = 1 put the wait and service rates equal, where the textbook tail divides by zero.

// The references carry 17 significant digits, more than an f64 holds, on purpose: they are
// printed from 50-digit arithmetic and rounded once, by the compiler.
#![allow(clippy::excessive_precision)]

mod support;

use kendall::queueing::MMc;

/// (c, ρ, Erlang C, mean sojourn, p50, p95, p99, p99.9), times in seconds.
type Row = (u32, f64, f64, f64, f64, f64, f64, f64);

const MMC: &[Row] = &[
    (
        1,
        0.3,
        0.3,
        0.014285714285714286,
        0.0099021025794277901,
        0.042796175336485586,
        0.065788145514115591,
        0.098682218271173386,
    ),
    (
        1,
        0.5,
        0.5,
        0.02,
        0.013862943611198906,
        0.05991464547107982,
        0.092103403719761827,
        0.13815510557964274,
    ),
    (
        1,
        0.7,
        0.7,
        0.033333333333333333,
        0.023104906018664844,
        0.0998577424517997,
        0.15350567286626971,
        0.23025850929940457,
    ),
    (
        1,
        0.75,
        0.75,
        0.04,
        0.027725887222397812,
        0.11982929094215964,
        0.18420680743952365,
        0.27631021115928548,
    ),
    (
        1,
        0.85,
        0.85,
        0.066666666666666667,
        0.046209812037329687,
        0.1997154849035994,
        0.30701134573253942,
        0.46051701859880914,
    ),
    (
        1,
        0.9,
        0.9,
        0.1,
        0.069314718055994531,
        0.2995732273553991,
        0.46051701859880914,
        0.69077552789821371,
    ),
    (
        1,
        0.95,
        0.95,
        0.2,
        0.13862943611198906,
        0.5991464547107982,
        0.92103403719761827,
        1.3815510557964274,
    ),
    (
        2,
        0.3,
        0.13846153846153846,
        0.010989010989010989,
        0.0078205894869871212,
        0.032193989568449227,
        0.048649987106296477,
        0.071904106681783507,
    ),
    (
        2,
        0.5,
        0.33333333333333333,
        0.013333333333333333,
        0.0097441160518992912,
        0.038164603051678294,
        0.056659606837929972,
        0.082275100076444872,
    ),
    (
        2,
        0.7,
        0.57647058823529412,
        0.019607843137254902,
        0.014511449668161631,
        0.055455292213524998,
        0.082655764953924574,
        0.12118015021960818,
    ),
    (
        2,
        0.75,
        0.64285714285714286,
        0.022857142857142857,
        0.016880679229042118,
        0.064765809989696418,
        0.097095034417869798,
        0.14317793645858818,
    ),
    (
        2,
        0.85,
        0.78108108108108108,
        0.036036036036036036,
        0.026200738238455728,
        0.1035085617188426,
        0.15715890268683811,
        0.23391179657855955,
    ),
    (
        2,
        0.9,
        0.85263157894736842,
        0.052631578947368421,
        0.037691593820140727,
        0.15297238944670571,
        0.23344429999478951,
        0.34857355466840984,
    ),
    (
        2,
        0.95,
        0.92564102564102564,
        0.10256410256410256,
        0.072119688193316043,
        0.30238240084209641,
        0.46332619208551065,
        0.69358470138491522,
    ),
    (
        3,
        0.3,
        0.070028818443804035,
        0.010333470564018114,
        0.0072761418121394039,
        0.030553712185706688,
        0.046665353317023707,
        0.069694454493258973,
    ),
    (
        3,
        0.5,
        0.23684210526315789,
        0.011578947368421053,
        0.0084424596240252567,
        0.033204489649869536,
        0.049657284554514841,
        0.072870768113510299,
    ),
    (
        3,
        0.7,
        0.4923444976076555,
        0.015470494417862839,
        0.01170093477567651,
        0.04286281381852316,
        0.062719235415847525,
        0.090119870206036024,
    ),
    (
        3,
        0.75,
        0.56775700934579439,
        0.017570093457943925,
        0.013347920968514705,
        0.048448182009606458,
        0.071010261603616801,
        0.10245088439997115,
    ),
    (
        3,
        0.85,
        0.73037661050545094,
        0.026230591344565576,
        0.019775368181130489,
        0.072774500602690272,
        0.10862631133716151,
        0.15980799300312585,
    ),
    (
        3,
        0.9,
        0.81706102117061021,
        0.037235367372353674,
        0.027558206156168811,
        0.10500912365646099,
        0.15866004935210254,
        0.23541295717791262,
    ),
    (
        3,
        0.95,
        0.90700852189244784,
        0.070467234792829856,
        0.05048010682981733,
        0.20404318453247373,
        0.31133904548442056,
        0.46484471835070373,
    ),
    (
        4,
        0.3,
        0.037049742710120069,
        0.010132320509679,
        0.0070786509865253997,
        0.030160179869852742,
        0.04625539521561485,
        0.069281294207779415,
    ),
    (
        4,
        0.5,
        0.17391304347826087,
        0.010869565217391304,
        0.0078340976240870881,
        0.031497043339025785,
        0.047642484376213579,
        0.070679717048865022,
    ),
    (
        4,
        0.7,
        0.42865431823253738,
        0.013572119318604478,
        0.010285469056221358,
        0.037524958380935809,
        0.054925574964095173,
        0.079017342347135923,
    ),
    (
        4,
        0.75,
        0.50943396226415094,
        0.015094339622641509,
        0.011562836286148808,
        0.041280998024176318,
        0.060063081765617948,
        0.085896762195518295,
    ),
    (
        4,
        0.85,
        0.68931622168117856,
        0.021488603694686309,
        0.016558227128884323,
        0.05830616147623534,
        0.085593882002404908,
        0.12415101439348041,
    ),
    (
        4,
        0.9,
        0.78775326429536245,
        0.029693831607384061,
        0.022545036930267573,
        0.081655248184116734,
        0.12193167436199086,
        0.17950013845382916,
    ),
    (
        4,
        0.95,
        0.89141899517767366,
        0.054570949758883683,
        0.039855607026538471,
        0.15519673498816737,
        0.23566865136581104,
        0.35079790604877266,
    ),
    (
        8,
        0.3,
        0.0035373497924360631,
        0.010006316696057922,
        0.006938842962688609,
        0.029965009663256161,
        0.046059388795523055,
        0.069085239725468343,
    ),
    (
        8,
        0.5,
        0.059043994695266102,
        0.010147609986738165,
        0.0071034333869243401,
        0.030152201563284848,
        0.046246603262314889,
        0.069272454374125788,
    ),
    (
        8,
        0.7,
        0.27060293223000223,
        0.011127512217625009,
        0.0081686215599244963,
        0.031705297004517829,
        0.047816820169360414,
        0.070844596605334005,
    ),
    (
        8,
        0.75,
        0.3569810858786803,
        0.011784905429393401,
        0.0088326689446301609,
        0.032911574533077878,
        0.049084883246440758,
        0.072128238009501816,
    ),
    (
        8,
        0.85,
        0.57256893301492033,
        0.014771407775124336,
        0.011580659080156491,
        0.039356727886632203,
        0.056851170482773878,
        0.081005730022083847,
    ),
    (
        8,
        0.9,
        0.70153299014625696,
        0.018769162376828212,
        0.01489355347219242,
        0.049251467847068084,
        0.070873474477580121,
        0.10078261606160028,
    ),
    (
        8,
        0.95,
        0.84416863060968397,
        0.031104215765242099,
        0.024100539429586098,
        0.083380239611747372,
        0.12366048566454962,
        0.18122931042120485,
    ),
    (
        16,
        0.3,
        4.4619841887417929e-5,
        0.010000039839144542,
        0.0069315155132589862,
        0.029957366480387256,
        0.04605174560472826,
        0.069077596534668717,
    ),
    (
        16,
        0.5,
        0.0090188097421519709,
        0.01001127351217769,
        0.0069442478944418009,
        0.029970198456678755,
        0.046064577581029721,
        0.069090428510970178,
    ),
    (
        16,
        0.7,
        0.12967579207251127,
        0.010270157900151065,
        0.0072459858269215528,
        0.030292878031139691,
        0.046387260453484515,
        0.069413111390720479,
    ),
    (
        16,
        0.75,
        0.20457385843573993,
        0.01051143464608935,
        0.0075241162032898053,
        0.030616925577753299,
        0.046711369649898829,
        0.06973722110307614,
    ),
    (
        16,
        0.85,
        0.43322119226624662,
        0.011805088301109361,
        0.0089261829903823573,
        0.032628790719630358,
        0.048745156707028875,
        0.071773474531271969,
    ),
    (
        16,
        0.9,
        0.5913433938723897,
        0.013695896211702436,
        0.010780097730950005,
        0.036235434831104459,
        0.052698346010844616,
        0.075884195276009869,
    ),
    (
        16,
        0.95,
        0.78019246224837134,
        0.019752405778104642,
        0.015961688721700943,
        0.050514830173912861,
        0.072166056250758645,
        0.10209352731401051,
    ),
    (
        32,
        0.3,
        9.9582412607439691e-9,
        0.010000000004445643,
        0.0069314718102528352,
        0.029957322740193294,
        0.046051701864534297,
        0.069077552794474754,
    ),
    (
        32,
        0.5,
        0.000291057991747951,
        0.010000181911244842,
        0.0069316658364583407,
        0.029957516772318549,
        0.046051895896659553,
        0.06907774682660001,
    ),
    (
        32,
        0.7,
        0.038019471149062456,
        0.010039603615780273,
        0.0069754738397183811,
        0.030001433989574746,
        0.046095813113916024,
        0.069121664043856481,
    ),
    (
        32,
        0.75,
        0.082885451498337682,
        0.010103606814372922,
        0.0070483416022139521,
        0.030075034988167448,
        0.046169414112592643,
        0.069195265042533101,
    ),
    (
        32,
        0.85,
        0.28240664779185828,
        0.010588347182899705,
        0.0076098757391727938,
        0.030674172865564205,
        0.046768557971016272,
        0.069794408914187516,
    ),
    (
        32,
        0.9,
        0.45819662150674733,
        0.011431864442208585,
        0.008557553195097139,
        0.031847666661011482,
        0.047943562307222912,
        0.070969458210954783,
    ),
    (
        32,
        0.95,
        0.69571011416654037,
        0.014348188213540877,
        0.011490518932863295,
        0.037057444729537159,
        0.053531900246202502,
        0.076722461496010988,
    ),
    (
        64,
        0.3,
        6.9873041352951622e-16,
        0.01,
        0.0069314718055994533,
        0.02995732273553991,
        0.046051701859880914,
        0.069077552789821371,
    ),
    (
        64,
        0.5,
        4.2637161518574546e-7,
        0.01000000013324113,
        0.0069314719431386828,
        0.02995732287307914,
        0.046051701997420143,
        0.0690775529273606,
    ),
    (
        64,
        0.7,
        0.0044125518901766112,
        0.010002298204109467,
        0.0069338959827885167,
        0.029959746920743007,
        0.04605412604508401,
        0.069079976975024467,
    ),
    (
        64,
        0.75,
        0.017823027107539222,
        0.010011139391942212,
        0.0069433464143541937,
        0.029969197700080722,
        0.046063576824421726,
        0.069089427754362183,
    ),
    (
        64,
        0.85,
        0.14348658329252972,
        0.010149465190929718,
        0.0070965731452631135,
        0.030122791029869421,
        0.046217170154211346,
        0.069243021084151803,
    ),
    (
        64,
        0.9,
        0.31066331653295919,
        0.010485411432082749,
        0.0074812552337648953,
        0.030516685006317341,
        0.046611064168571274,
        0.069636915098518105,
    ),
    (
        64,
        0.95,
        0.58801093190998185,
        0.011837534162218693,
        0.0090049898141986274,
        0.032324312557092604,
        0.048420362532675813,
        0.071446263011055204,
    ),
];

fn close(got: f64, want: f64, what: &str) {
    let rel = ((got - want) / want).abs();
    assert!(
        rel < 1e-9,
        "{what}: got {got}, want {want} (relative error {rel:e})"
    );
}

#[test]
fn mmc_matches_high_precision_reference() {
    for &(c, rho, erlang_c, mean, p50, p95, p99, p999) in MMC {
        let mu = 100.0;
        let q = MMc::new(c, rho * c as f64 * mu, mu).unwrap();
        let at = format!("c={c} ρ={rho}");
        close(q.utilization(), rho, &format!("{at} utilisation"));
        close(q.p_wait(), erlang_c, &format!("{at} Erlang C"));
        close(q.mean_sojourn(), mean, &format!("{at} mean sojourn"));
        for (p, want) in [(0.5, p50), (0.95, p95), (0.99, p99), (0.999, p999)] {
            close(
                q.sojourn_quantile(p),
                want,
                &format!("{at} sojourn p{}", p * 100.0),
            );
        }
    }
}

/// Gunther, *Analyzing Computer System Performance with Perl::PDQ*: four servers, 0.35
/// requests a minute, 10 minutes of service each: R = 24.7572 min, U = 87.5%.
#[test]
fn pdq_textbook_case() {
    let q = MMc::new(4, 0.35 / 60.0, 1.0 / 600.0).unwrap();
    assert!((q.utilization() - 0.875).abs() < 1e-12);
    let r_minutes = q.mean_sojourn() / 60.0;
    assert!(
        (r_minutes - 24.757_221_880_762_14).abs() < 1e-9,
        "{r_minutes}"
    );
    assert_eq!(format!("{r_minutes:.4}"), "24.7572");
}

/// M/M/1: the sojourn is exponential with rate μ − λ, so every percentile has a closed form.
#[test]
fn mm1_sojourn_is_exponential() {
    let (lambda, mu) = (80.0, 100.0);
    let q = MMc::new(1, lambda, mu).unwrap();
    for p in [0.1f64, 0.5, 0.9, 0.99, 0.9999] {
        let want = -(1.0 - p).ln() / (mu - lambda);
        close(q.sojourn_quantile(p), want, &format!("p{p}"));
    }
    close(q.mean_wait(), lambda / (mu * (mu - lambda)), "mean wait");
}

#[test]
fn percentiles_rise_with_load_and_with_p() {
    let mu = 50.0;
    for c in [1, 3, 16] {
        let mut previous = 0.0;
        for step in 1..=19 {
            let rho = step as f64 * 0.05;
            let q = MMc::new(c, rho * c as f64 * mu, mu).unwrap();
            let p99 = q.sojourn_quantile(0.99);
            assert!(
                p99 > previous,
                "c={c}: p99 fell from {previous} to {p99} at ρ={rho}"
            );
            previous = p99;
            let mut last = 0.0;
            for p in [0.1, 0.5, 0.9, 0.95, 0.99, 0.999] {
                let t = q.sojourn_quantile(p);
                assert!(t > last, "c={c} ρ={rho}: p{p} = {t} not above {last}");
                last = t;
            }
        }
    }
}

#[test]
fn more_servers_never_raise_latency() {
    let (lambda, mu) = (900.0, 100.0);
    let mut previous = f64::INFINITY;
    for c in 10..40 {
        let q = MMc::new(c, lambda, mu).unwrap();
        let p99 = q.sojourn_quantile(0.99);
        assert!(p99 <= previous, "c={c}: p99 rose to {p99}");
        previous = p99;
    }
}

mod service_times {
    use kendall::model::ServiceTime;
    use kendall::queueing::Dist;
    use proptest::prelude::*;

    fn close(got: f64, want: f64, tol: f64, what: &str) {
        let rel = ((got - want) / want).abs();
        assert!(
            rel < tol,
            "{what}: got {got}, want {want} (relative error {rel:e})"
        );
    }

    fn dist(t: ServiceTime) -> Dist {
        Dist::from_model(&t).unwrap()
    }

    /// References from 40-digit mpmath (regularised incomplete gamma, inverted by bisection).
    #[test]
    fn gamma_quantiles_match_reference() {
        let g = dist(ServiceTime::Gamma {
            mean_s: 0.005,
            cv: 0.5,
        });
        close(g.mean(), 0.005, 1e-15, "mean");
        close(g.scv(), 0.25, 1e-15, "scv");
        for (p, want) in [
            (0.5, 0.0045900759360636201),
            (0.99, 0.012556396893539521),
            (0.999, 0.016327800973985088),
        ] {
            close(g.quantile(p), want, 1e-11, &format!("gamma(cv 0.5) p{p}"));
        }
        let heavy = dist(ServiceTime::Gamma {
            mean_s: 0.002,
            cv: 2.0,
        });
        for (p, want) in [
            (0.5, 0.00034939041882298728),
            (0.99, 0.019471083377576262),
            (0.999, 0.035011554063093498),
        ] {
            close(heavy.quantile(p), want, 1e-11, &format!("gamma(cv 2) p{p}"));
        }
    }

    #[test]
    fn lognormal_from_mean_and_cv() {
        let l = dist(ServiceTime::Lognormal {
            mean_s: 0.006,
            cv: 0.8,
        });
        close(l.mean(), 0.006, 1e-14, "mean");
        close(l.scv(), 0.64, 1e-14, "scv");
        close(l.quantile(0.5), 0.004685212856658182, 1e-12, "p50");
        close(l.quantile(0.99), 0.024062145721087605, 1e-12, "p99");
        close(l.cdf(l.quantile(0.9)), 0.9, 1e-10, "cdf inverts quantile");
    }

    #[test]
    fn fitted_times_are_the_lognormal_through_both_percentiles() {
        let f = dist(ServiceTime::Fitted {
            p_low: 0.5,
            low_s: 0.003,
            p_high: 0.99,
            high_s: 0.014,
        });
        close(f.quantile(0.5), 0.003, 1e-12, "p50");
        close(f.quantile(0.99), 0.014, 1e-12, "p99");
        close(f.mean(), 0.0037353776038178278, 1e-12, "mean");
        close(f.scv(), 0.55033842701153518, 1e-12, "scv");
        close(f.quantile(0.95), 0.0089154894756787352, 1e-12, "p95");
    }

    #[test]
    fn closed_forms() {
        let e = dist(ServiceTime::Exp { mean_s: 0.002 });
        close(e.quantile(0.99), 0.002 * 100f64.ln(), 1e-14, "exp p99");
        close(
            e.cdf(0.002),
            1.0 - (-1f64).exp(),
            1e-14,
            "exp cdf at the mean",
        );
        let u = dist(ServiceTime::Uniform {
            low_s: 0.002,
            high_s: 0.005,
        });
        close(u.mean(), 0.0035, 1e-15, "uniform mean");
        close(
            u.scv(),
            0.003f64.powi(2) / 12.0 / 0.0035f64.powi(2),
            1e-14,
            "uniform scv",
        );
        close(u.quantile(0.25), 0.00275, 1e-14, "uniform p25");
        let c = dist(ServiceTime::Const { value_s: 0.008 });
        assert_eq!((c.mean(), c.scv(), c.quantile(0.99)), (0.008, 0.0, 0.008));
        let b = Dist::batch(0.002, 0.0003, 32);
        close(b.mean(), 0.0116, 1e-14, "batch of 32");
        assert_eq!(
            Dist::from_model(&ServiceTime::Batch {
                base_s: 0.002,
                per_item_s: 0.0003
            }),
            None
        );
    }

    #[test]
    fn empirical_quantiles_interpolate_like_r_type_7() {
        let samples = vec![0.004, 0.001, 0.003, 0.002, 0.010];
        let e = dist(ServiceTime::Empirical {
            file: "x".into(),
            samples_s: samples,
        });
        // sorted 1 2 3 4 10 (ms): h = 4p
        close(e.quantile(0.5), 0.003, 1e-14, "p50");
        close(e.quantile(0.9), 0.004 + 0.6 * 0.006, 1e-14, "p90");
        close(e.mean(), 0.004, 1e-14, "mean");
        close(
            e.scv(),
            (9.0 + 4.0 + 1.0 + 0.0 + 36.0) / 5.0 / 16.0,
            1e-12,
            "scv",
        );
        assert_eq!(e.cdf(0.0035), 0.6);
    }

    proptest! {
        #[test]
        fn fitted_recovers_any_pair_of_percentiles(
            p_low in 0.05f64..0.6, gap in 0.05f64..0.39, low_ms in 0.1f64..500.0, ratio in 1.01f64..50.0,
        ) {
            let p_high = (p_low + gap).min(0.999);
            let (low_s, high_s) = (low_ms / 1000.0, low_ms * ratio / 1000.0);
            let f = dist(ServiceTime::Fitted { p_low, low_s, p_high, high_s });
            prop_assert!(((f.quantile(p_low) - low_s) / low_s).abs() < 1e-9);
            prop_assert!(((f.quantile(p_high) - high_s) / high_s).abs() < 1e-9);
        }

        #[test]
        fn quantiles_are_monotone_and_invert_the_cdf(mean_ms in 0.1f64..100.0, cv in 0.1f64..3.0, p in 0.01f64..0.99) {
            for d in [
                dist(ServiceTime::Lognormal { mean_s: mean_ms / 1000.0, cv }),
                dist(ServiceTime::Gamma { mean_s: mean_ms / 1000.0, cv }),
                dist(ServiceTime::Exp { mean_s: mean_ms / 1000.0 }),
            ] {
                let t = d.quantile(p);
                prop_assert!(d.quantile((p + 0.005).min(0.995)) >= t);
                prop_assert!((d.cdf(t) - p).abs() < 1e-9, "{d:?}: cdf(q({p})) = {}", d.cdf(t));
            }
        }
    }
}

mod traffic_equations {
    use kendall::queueing::{Dist, traffic};
    use kendall::resolve::MemoryLoader;

    use super::support;

    fn model(text: &str) -> kendall::model::Model {
        let c = kendall::compile("t.arch", text.as_bytes(), &MemoryLoader::new());
        assert!(!c.diagnostics.has_errors(), "{}", support::render_all(&c));
        c.model.unwrap()
    }

    fn close(got: f64, want: f64, what: &str) {
        assert!(
            ((got - want) / want).abs() < 1e-12,
            "{what}: got {got}, want {want}"
        );
    }

    #[test]
    fn recsys_rates_and_service_mixtures() {
        let c = support::compile_in(&support::root().join("examples"), "recsys.arch");
        let t = traffic(c.model.as_ref().unwrap(), 1.0).unwrap();
        for (s, e) in [
            ("api", "recommend"),
            ("features", "user"),
            ("retrieval", "search"),
            ("trending", "top"),
            ("ranker", "score"),
            ("events", "publish"),
        ] {
            close(t.endpoint(s, e).unwrap().rate, 2400.0, &format!("{s}.{e}"));
        }
        // 85% of feature lookups hit the cache.
        close(
            t.endpoint("features", "user").unwrap().miss_rate,
            360.0,
            "features misses",
        );
        // Every call visits all 8 retrieval shards: each shard sees the full rate.
        let retrieval = t.service("retrieval").unwrap();
        assert_eq!(retrieval.shards, 8);
        close(retrieval.rate_per_shard, 2400.0, "retrieval per shard");
        // Hits take 0.2ms; misses the fitted p50 3ms / p99 14ms time.
        let fitted = Dist::from_model(&kendall::model::ServiceTime::Fitted {
            p_low: 0.5,
            low_s: 0.003,
            p_high: 0.99,
            high_s: 0.014,
        })
        .unwrap();
        let mean = (2040.0 * 0.0002 + 360.0 * fitted.mean()) / 2400.0;
        let second = (2040.0 * 0.0002f64.powi(2)
            + 360.0 * fitted.mean().powi(2) * (1.0 + fitted.scv()))
            / 2400.0;
        let features = t.service("features").unwrap();
        close(
            features.mean_service_s.unwrap(),
            mean,
            "features mean service",
        );
        close(
            features.service_scv.unwrap(),
            second / (mean * mean) - 1.0,
            "features scv",
        );
        let api = t.service("api").unwrap();
        close(api.mean_service_s.unwrap(), 0.0012, "api mean");
        close(api.service_scv.unwrap(), 1.0, "api scv");
        assert_eq!(
            t.service("ranker").unwrap().mean_service_s,
            None,
            "batching has its own model"
        );
        let doubled = traffic(c.model.as_ref().unwrap(), 2.0).unwrap();
        close(
            doubled.endpoint("ranker", "score").unwrap().rate,
            4800.0,
            "load 2x",
        );
    }

    const LOOP: &str = "system t {
      workload w { entry a.x  rate 100 rps }
      service a { endpoint x { time exp(1ms)  call b.y when 30% times 3  call c.z async } }
      service b { endpoint y { time exp(1ms)  call c.z times 2 parallel } }
      service c { endpoint z { time exp(1ms)  call a.x async when PCT } }
    }";

    /// A = 100 + p·C, B = 0.9·A, C = A + 2·B = 2.8·A.
    #[test]
    fn when_times_fanout_and_an_async_loop() {
        let t = traffic(&model(&LOOP.replace("PCT", "10%")), 1.0).unwrap();
        let a = 100.0 / (1.0 - 0.1 * 2.8);
        close(t.endpoint("a", "x").unwrap().rate, a, "a");
        close(t.endpoint("b", "y").unwrap().rate, 0.9 * a, "b");
        close(t.endpoint("c", "z").unwrap().rate, 2.8 * a, "c");
    }

    #[test]
    fn a_loop_that_multiplies_traffic_diverges() {
        let err = traffic(&model(&LOOP.replace("PCT", "40%")), 1.0).unwrap_err();
        assert_eq!(err.services, ["a", "b", "c"]);
    }

    /// What enters an endpoint is what its callers' misses send it, plus its workloads.
    #[test]
    fn traffic_is_conserved_in_every_example() {
        for name in ["recsys.arch", "fraud.arch", "rag.arch", "training.arch"] {
            let c = support::compile_in(&support::root().join("examples"), name);
            let m = c.model.unwrap();
            let t = traffic(&m, 1.0).unwrap();
            for s in &m.services {
                for e in &s.endpoints {
                    let mut inflow: f64 = m
                        .workloads
                        .iter()
                        .filter(|w| {
                            w.job.is_none()
                                && w.entry.service == s.name
                                && w.entry.endpoint.as_deref() == Some(&e.name)
                        })
                        .map(|w| w.rate_rps)
                        .sum();
                    for caller in &m.services {
                        for ce in &caller.endpoints {
                            let misses = t.endpoint(&caller.name, &ce.name).unwrap().miss_rate;
                            kendall::model::graph::each_call(&ce.steps, &mut |c| {
                                if c.service == s.name && c.endpoint == e.name {
                                    inflow += misses * c.probability * c.times as f64;
                                }
                            });
                        }
                    }
                    let got = t.endpoint(&s.name, &e.name).unwrap().rate;
                    assert!(
                        (got - inflow).abs() <= 1e-9 * inflow.max(1.0),
                        "{name}: {}.{}: {got} vs {inflow}",
                        s.name,
                        e.name
                    );
                }
            }
        }
    }
}

mod prediction {
    use super::support;
    use kendall::queueing::{MMc, Options, predict};
    use kendall::resolve::MemoryLoader;

    fn model(text: &str) -> kendall::model::Model {
        let c = kendall::compile("t.arch", text.as_bytes(), &MemoryLoader::new());
        assert!(!c.diagnostics.has_errors(), "{}", support::render_all(&c));
        c.model.unwrap()
    }

    fn options(load: f64) -> Options {
        Options {
            load,
            ..Options::default()
        }
    }

    /// One exponential service behind a shared queue is M/M/c: the end-to-end distribution
    /// must reproduce the exact sojourn percentiles, up to the lattice's resolution.
    #[test]
    fn a_single_station_reproduces_mmc() {
        let m = model(
            "system t {
              workload w { entry api.get  rate 700 rps }
              service api { replicas 4  workers 2  balance shared  endpoint get { time exp(10ms) } }
            }",
        );
        let p = predict(&m, &options(1.0)).unwrap();
        let exact = MMc::new(8, 700.0, 100.0).unwrap();
        let l = p.workloads[0].latency.as_ref().unwrap();
        let s = &p.services[0];
        assert_eq!(s.model, "M/M/c exact");
        assert!((s.utilization.unwrap() - 0.875).abs() < 1e-12);
        assert!((s.sojourn_mean_s.unwrap() - exact.mean_sojourn()).abs() < 1e-12);
        assert!((s.sojourn_p99_s.unwrap() - exact.sojourn_quantile(0.99)).abs() < 1e-12);
        for (got, p) in [
            (l.p50_s, 0.5),
            (l.p95_s, 0.95),
            (l.p99_s, 0.99),
            (l.p999_s, 0.999),
        ] {
            let want = exact.sojourn_quantile(p);
            assert!(((got - want) / want).abs() < 2e-3, "p{p}: {got} vs {want}");
        }
        assert!(((l.mean_s - exact.mean_sojourn()) / exact.mean_sojourn()).abs() < 1e-3);
    }

    /// Round robin over two single-server replicas of a Poisson stream: each replica sees every
    /// second arrival, Erlang-2 gaps, an E₂/M/1 queue. Its GI/M/1 root σ solves
    /// σ = (λ/(λ + μ(1 − σ)))² (λ the total rate); with x = 1 − σ the non-trivial root is
    /// x = (μ² − 2λμ + √(μ³(μ + 4λ)))/(2μ²), and the mean wait is σ/(μx).
    #[test]
    fn round_robin_is_erlang_gi_m_1() {
        let m = model(
            "system t {
              workload w { entry api.get  rate 160 rps }
              service api { replicas 2  workers 1  balance round_robin  endpoint get { time exp(10ms) } }
            }",
        );
        let p = predict(&m, &options(1.0)).unwrap();
        let (lambda, mu) = (160.0f64, 100.0f64);
        let x = (mu * mu - 2.0 * lambda * mu + (mu.powi(3) * (mu + 4.0 * lambda)).sqrt())
            / (2.0 * mu * mu);
        let wait = (1.0 - x) / (mu * x);
        let s = &p.services[0];
        assert_eq!(s.model, "GI/M/c exact (Erlang round robin)");
        assert!((s.utilization.unwrap() - 0.8).abs() < 1e-12);
        assert!(((s.wait_mean_s.unwrap() - wait) / wait).abs() < 1e-9);
        // 28.44 ms, against 40 ms for a shared M/M/1 queue per replica under random routing.
        assert!((s.wait_mean_s.unwrap() - 0.028_440).abs() < 1e-6);
        // End to end: the wait (σ, then Exp(μx)) plus Exp(μ) service; the mean adds up.
        let l = p.workloads[0].latency.as_ref().unwrap();
        assert!(((l.mean_s - (wait + 0.01)) / (wait + 0.01)).abs() < 1e-3);
    }

    /// Two M/M/1 stations in a row: the sojourn times are independent exponentials with rates
    /// μ₁ − λ and μ₂ − λ, so the total is hypoexponential.
    #[test]
    fn an_mm1_tandem_is_hypoexponential() {
        let m = model(
            "system t {
              workload w { entry a.x  rate 50 rps }
              service a { replicas 1  endpoint x { time exp(10ms)  call b.y } }
              service b { replicas 1  endpoint y { time exp(4ms) } }
            }",
        );
        let p = predict(&m, &options(1.0)).unwrap();
        let (r1, r2) = (100.0 - 50.0, 250.0 - 50.0);
        let tail = |t: f64| (r2 * (-r1 * t).exp() - r1 * (-r2 * t).exp()) / (r2 - r1);
        let quantile = |p: f64| {
            let (mut lo, mut hi) = (0.0, 10.0);
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if tail(mid) > 1.0 - p {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            lo
        };
        let l = p.workloads[0].latency.as_ref().unwrap();
        let mean = 1.0 / r1 + 1.0 / r2;
        assert!(
            ((l.mean_s - mean) / mean).abs() < 1e-3,
            "{} vs {mean}",
            l.mean_s
        );
        for (got, q) in [(l.p50_s, 0.5), (l.p99_s, 0.99), (l.p999_s, 0.999)] {
            let want = quantile(q);
            assert!(((got - want) / want).abs() < 2e-3, "p{q}: {got} vs {want}");
        }
    }

    #[test]
    fn an_overloaded_station_is_unstable_with_the_capacity_it_needs() {
        let m = model(
            "system t {
              workload w { entry api.get  rate 1000 rps  slo p99 < 50ms }
              service api { replicas 2  workers 4  endpoint get { time exp(10ms) } }
            }",
        );
        let p = predict(&m, &options(1.0)).unwrap();
        let s = &p.services[0];
        let u = s.unstable.unwrap();
        assert!((u.utilization - 1.25).abs() < 1e-12);
        // 10 erlangs of work at 4 workers a replica: 3 replicas.
        assert_eq!(u.replicas_needed, 3);
        assert_eq!(p.workloads[0].latency, None);
    }

    #[test]
    fn latency_rises_with_load_and_falls_with_replicas() {
        let c = support::compile_in(&support::root().join("examples"), "fraud.arch");
        let m = c.model.unwrap();
        let p99 = |o: &Options| {
            predict(&m, o).unwrap().workloads[0]
                .latency
                .as_ref()
                .map(|l| l.p99_s)
                .unwrap_or(f64::INFINITY)
        };
        let mut previous = 0.0;
        for load in [0.5, 0.75, 1.0, 1.25] {
            let now = p99(&options(load));
            assert!(now >= previous, "load {load}: p99 {now} below {previous}");
            previous = now;
        }
        let base = options(1.0);
        let first = &m
            .services
            .iter()
            .find(|s| s.replicas.is_some_and(|r| !r.pinned))
            .unwrap()
            .name;
        let mut more = options(1.0);
        let now = m.service(first).unwrap().replicas.unwrap().min;
        more.replicas.insert(first.clone(), now + 2);
        assert!(p99(&more) <= p99(&base));
    }

    /// Blocking workers whose one callee is an exponential queue reached only from them: the
    /// flow-equivalent server, whose waits the end-to-end mean adds up. With no own work the
    /// workers and the callee are one M/M/4 queue, exactly.
    #[test]
    fn blocking_workers_are_a_flow_equivalent_server() {
        use kendall::queueing::fes::{Callee, solve};
        let design = |own: &str| {
            format!(
                "system t {{
                  workload w {{ entry api.get  rate 300 rps }}
                  service api {{ replicas 1  workers 8  blocking  balance shared  endpoint get {{ time {own}  call db.q }} }}
                  service db {{ replicas 1  workers 4  balance shared  endpoint q {{ time exp(10ms) }} }}
                }}"
            )
        };
        let db = Callee {
            copies: 1,
            servers: 4,
            service: 0.010,
            visits: 1.0,
        };
        for (own, own_s) in [("exp(5ms)", 0.005), ("const(0ms)", 0.0)] {
            let p = predict(&model(&design(own)), &options(1.0)).unwrap();
            let (api, dbp) = (&p.services[0], &p.services[1]);
            assert_eq!(api.model, "blocking flow-equivalent server");
            assert_eq!(dbp.model, "M/M/c in a closed subnetwork (FES)");
            let f = solve(300.0, own_s, &[db], 8, 64).unwrap();
            assert!((api.wait_mean_s.unwrap() - f.mean_wait).abs() < 1e-12);
            assert!((dbp.wait_mean_s.unwrap() - f.callees[0].1).abs() < 1e-12);
            assert!((api.utilization.unwrap() - f.busy / 8.0).abs() < 1e-12);
            assert!((dbp.utilization.unwrap() - 0.75).abs() < 1e-12);
            assert_eq!(api.sojourn_p99_s, None);
            let mean = f.mean_wait + own_s + f.callees[0].1 + 0.010;
            let l = p.workloads[0].latency.as_ref().unwrap();
            assert!((l.mean_s / mean - 1.0).abs() < 2e-3, "{} {mean}", l.mean_s);
            if own_s == 0.0 {
                let mmc = MMc::new(4, 300.0, 100.0).unwrap();
                assert!((mean - mmc.mean_sojourn()).abs() < 1e-12);
            } else {
                // tests/accuracy/blocking.arch at 1.5×, simulated 20.495 ± 0.149 ms.
                assert!((l.mean_s - 0.020444).abs() < 1e-6, "{}", l.mean_s);
            }
        }
    }

    /// Outside the product-form conditions the layered model stands, and a caller the closed
    /// network cannot keep up with is unstable, its callee left to the open model.
    #[test]
    fn blocking_workers_fall_back_outside_product_form() {
        let design = |call: &str, db_time: &str, extra: &str| {
            format!(
                "system t {{
                  workload w {{ entry api.get  rate 200 rps }}
                  {extra}
                  service api {{ replicas 1  workers 8  blocking  endpoint get {{ time exp(5ms)  {call} }} }}
                  service db {{ replicas 1  workers 4  endpoint q {{ time {db_time} }} }}
                }}"
            )
        };
        let cases = [
            ("call db.q timeout 50ms", "exp(10ms)", ""),
            ("parallel { call db.q  call db.q }", "exp(10ms)", ""),
            ("call db.q times 2 parallel", "exp(4ms)", ""),
            ("call db.q", "gamma(mean 10ms, cv 0.5)", ""),
            (
                "call db.q",
                "exp(10ms)",
                "workload v { entry db.q  rate 10 rps }",
            ),
            ("call db.q async", "exp(10ms)", ""),
        ];
        for (call, db_time, extra) in cases {
            let p = predict(&model(&design(call, db_time, extra)), &options(1.0)).unwrap();
            assert_eq!(
                p.services[0].model, "G/G/c blocking (layered)",
                "{call} {db_time} {extra}"
            );
            assert_ne!(p.services[1].model, "M/M/c in a closed subnetwork (FES)");
        }
        // Two workers held 15 ms each carry at most 133 rps; 5 workers carry 333 > 300.
        let p = predict(
            &model(
                "system t {
                  workload w { entry api.get  rate 300 rps }
                  service api { replicas 1  workers 2  blocking  endpoint get { time exp(5ms)  call db.q } }
                  service db { replicas 1  workers 8  endpoint q { time exp(10ms) } }
                }",
            ),
            &options(1.0),
        )
        .unwrap();
        let api = &p.services[0];
        assert_eq!(api.model, "unstable");
        let overload = api.unstable.unwrap();
        assert_eq!(overload.replicas_needed, 3);
        assert!((overload.utilization - 300.0 * 0.015 / 2.0).abs() < 1e-9);
        assert_eq!(p.services[1].model, "M/M/c exact");
        assert!(p.workloads[0].latency.is_none());
    }
}

mod arrival_variability {
    use super::support;
    use kendall::queueing::phmc::{PhMc, PhaseType};
    use kendall::queueing::{Options, predict};
    use kendall::resolve::MemoryLoader;

    /// A 4-way fan-out from an M/M/8 station sends Poisson batches of exactly 4 to `b`: an
    /// M^X/M/1 queue with exact mean wait λE[S²]/(2(1−ρ)) + E[S](E[X²]−E[X])/(2E[X](1−ρ)) =
    /// 40 + 75 = 115 ms. QNA's asymptotic method gives c_a² = 4; the renewal process with that
    /// SCV (a balanced hyperexponential) into the exponential server, solved exactly as GI/M/1,
    /// waits 98.2 ms (15% low: batches are not a renewal process). Allen–Cunneen on the same
    /// c_a² gave 100 ms (13% low); with Poisson arrivals assumed it was 40 ms, 65% low.
    #[test]
    fn a_fan_out_makes_arrivals_bursty() {
        let text = "system t {
          workload w { entry a.q  rate 20 rps }
          service a { replicas 1  workers 8  balance shared  endpoint q { time exp(1ms)  call b.q times 4 parallel } }
          service b { replicas 1  workers 1  balance shared  endpoint q { time exp(10ms) } }
        }";
        let c = kendall::compile("t.arch", text.as_bytes(), &MemoryLoader::new());
        assert!(!c.diagnostics.has_errors(), "{}", support::render_all(&c));
        let p = predict(
            c.model.as_ref().unwrap(),
            &Options {
                load: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
        let b = &p.services[1];
        assert_eq!(b.model, "GI/M/c (fitted arrivals)");
        let wait = b.wait_mean_s.unwrap();
        let renewal = PhMc::new(&PhaseType::fit(1.0 / 80.0, 4.0), 1, 0.010).unwrap();
        assert!((wait - renewal.mean_wait()).abs() < 1e-12, "{wait}");
        assert!((wait - 0.0982).abs() < 1e-4, "{wait}");
    }

    /// A bursty workload's variability reaches the stations behind its entry, diluted by
    /// the departures' smoothing at the entry station.
    #[test]
    fn bursty_arrivals_propagate_downstream() {
        let text = |arrivals: &str| {
            format!("system t {{
          workload w {{ entry a.q  rate 50 rps  arrivals {arrivals} }}
          service a {{ replicas 1  workers 1  balance shared  endpoint q {{ time exp(5ms)  call b.q }} }}
          service b {{ replicas 1  workers 1  balance shared  endpoint q {{ time exp(10ms) }} }}
        }}")
        };
        let wait_b = |arrivals: &str| {
            let c = kendall::compile("t.arch", text(arrivals).as_bytes(), &MemoryLoader::new());
            let p = predict(
                c.model.as_ref().unwrap(),
                &Options {
                    load: 1.0,
                    ..Default::default()
                },
            )
            .unwrap();
            p.services[1].wait_mean_s.unwrap()
        };
        let (poisson, bursty) = (wait_b("poisson"), wait_b("bursty(scv 9)"));
        assert!(bursty > poisson * 1.5, "{bursty} vs {poisson}");
        // c_d² at `a` (ρ = 0.25): 1 + (1 − 0.0625)(9 − 1) = 8.5, the SCV of b's renewal fit.
        let exact = PhMc::new(&PhaseType::fit(1.0 / 50.0, 8.5), 1, 0.010).unwrap();
        assert!((bursty - exact.mean_wait()).abs() < 1e-12, "{bursty}");
        assert!((poisson - 0.010).abs() < 1e-12, "{poisson}");
    }
}

mod retries {
    use kendall::queueing::{MMc, Options, Prediction, predict};
    use kendall::resolve::MemoryLoader;

    /// 40 requests/s into `a`, whose every request calls the M/M/1 station `b` (μ = 100/s)
    /// with the given call modifiers.
    fn predict_calls(modifiers: &str) -> Prediction {
        predict_calls_at(40.0, modifiers)
    }

    /// The same at `rate` requests/s.
    fn predict_calls_at(rate: f64, modifiers: &str) -> Prediction {
        predict_design(&format!(
            "system t {{
              workload w {{ entry a.q  rate {rate} rps }}
              service a {{ replicas 1  workers 8  balance shared  endpoint q {{ time exp(1ms)  call b.q {modifiers} }} }}
              service b {{ replicas 1  workers 1  balance shared  endpoint q {{ time exp(10ms) }} }}
            }}"
        ))
    }

    /// The prediction of a design at load 1.
    fn predict_design(text: &str) -> Prediction {
        let c = kendall::compile("t.arch", text.as_bytes(), &MemoryLoader::new());
        predict(
            c.model.as_ref().expect("the design checks"),
            &Options::default(),
        )
        .expect("traffic settles")
    }

    /// Where attempts are taken as independent (here `b` has two callers, so the
    /// correlated-attempts model does not apply), each call times out after 40 ms and is
    /// retried once, so `b` receives x = 40·(1 + P) requests/s where P = P(sojourn > 40 ms) =
    /// e^{−(100 − x)·0.04} at load x (the M/M/1 sojourn is exponential with rate μ − x): a
    /// fixed point, solved here by iterating that closed form (x ≈ 44.3). Every attempt timing
    /// out would offer 80 rps, ρ = 0.8 < 1: no retry storm.
    #[test]
    fn timeouts_add_retried_load_at_the_fixed_point() {
        let text = "system t {
              workload w { entry a.q  rate 40 rps }
              service a { replicas 1  workers 8  balance shared
                endpoint q { time exp(1ms)  call b.q timeout 40ms retries 1 when 50%  call b.q timeout 40ms retries 1 when 50% } }
              service b { replicas 1  workers 1  balance shared  endpoint q { time exp(10ms) } }
            }";
        let p = predict_design(text);
        let mut x: f64 = 40.0;
        for _ in 0..200 {
            let late = MMc::new(1, x, 100.0).unwrap().sojourn_tail(0.040);
            x = 40.0 * (1.0 + late);
        }
        let got = p.services[1].arrival_rps;
        assert_eq!(p.services[1].model, "M/M/c exact");
        assert!(got > 40.0 * 1.05, "retries add load: {got}");
        assert!(((got - x) / x).abs() < 5e-3, "{got} vs {x}");
        assert!(p.retry_storms.is_empty());
        assert!(p.services[1].warnings.is_empty(), "{:?}", p.services[1]);
        assert!(p.workloads[0].latency.is_some());
    }

    /// The same call from one call site: `b` is a queue of its own, and the attempts come
    /// from the correlated-attempts model (queueing/retry_queue.rs), solved here directly.
    /// `b` takes 40 × its attempts per call, more than with independent attempts (a retry
    /// joins the queue its timeout left); the workload's latency is `a`'s exp(1 ms) (its M/M/8
    /// wait is below 1e-9 ms) + the call's distribution; `b` reports the attempts' wait.
    #[test]
    fn a_queue_of_its_own_gets_correlated_attempts() {
        use kendall::queueing::Dist;
        use kendall::queueing::retry_queue::RetryQueue;
        let p = predict_calls("timeout 40ms retries 1");
        let q = RetryQueue::new(40.0, &[(1.0, Dist::Exp { mean: 0.010 })], 0.040, 1).unwrap();
        let b = &p.services[1];
        assert_eq!(b.model, "M/G/1, correlated retries");
        assert!(((b.arrival_rps - 40.0 * q.attempts) / b.arrival_rps).abs() < 1e-12);
        assert!(
            b.arrival_rps > 44.5,
            "more than independent attempts' 44.3: {}",
            b.arrival_rps
        );
        let wait = b.wait_mean_s.unwrap();
        assert!(
            (wait - q.wait_mean).abs() / wait < 1e-9,
            "{wait} vs {}",
            q.wait_mean
        );
        let mean = p.workloads[0].latency.as_ref().unwrap().mean_s;
        let want = 0.001 + q.mean();
        assert!((mean - want).abs() / want < 2e-3, "{mean} vs {want}");
        assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    }

    #[test]
    fn calls_without_retries_add_no_load() {
        assert_eq!(predict_calls("timeout 15ms").services[1].arrival_rps, 40.0);
    }

    /// With a 15 ms timeout and two retries, every call tried three times offers 120 rps to
    /// `b` (μ = 100/s): a retry storm (E0803), solved in its congested state, where every
    /// attempt times out. Made once, the calls would load it to 40%.
    #[test]
    fn a_retry_storm_saturates_the_callee() {
        let p = predict_calls("timeout 15ms retries 2");
        assert!(p.services[1].unstable.is_some(), "{:?}", p.services[1]);
        let rate = p.services[1].arrival_rps;
        assert!((rate - 120.0).abs() < 1e-6, "three attempts each: {rate}");
        assert!(p.workloads[0].latency.is_none());
        let [storm] = p.retry_storms.as_slice() else {
            panic!("one storm: {:?}", p.retry_storms)
        };
        assert_eq!(storm.service, "b");
        assert!((storm.full_rps - 120.0).abs() < 1e-9);
        assert!((storm.full_utilization - 1.2).abs() < 1e-9);
        assert!((storm.single_rps - 40.0).abs() < 1e-9);
        assert!((storm.single_utilization - 0.4).abs() < 1e-9);
        assert_eq!(storm.calls, [("a".into(), "q".into(), 0.015, 2)]);
    }

    /// A long timeout makes the uncongested state last: at 40 ms with two retries `b` takes
    /// about 44 rps while calls mostly succeed, yet 3 × 40 rps = 120 rps would overload it once
    /// congested. That state is absorbing, so the storm is predicted even though the
    /// independent-attempt fixed point alone is stable.
    #[test]
    fn a_storm_is_predicted_where_a_calm_fixed_point_exists() {
        let p = predict_calls("timeout 40ms retries 2");
        assert!(p.services[1].unstable.is_some(), "{:?}", p.services[1]);
        assert!((p.services[1].arrival_rps - 120.0).abs() < 1e-6);
        assert_eq!(p.retry_storms.len(), 1);
    }

    /// Every attempt timing out would load `b` to 92% (2 × 46 rps): stable, but its congested
    /// spells drain slowly, which W0802 says; no storm.
    #[test]
    fn a_heavily_loaded_full_attempt_state_is_a_warning() {
        let p = predict_calls_at(46.0, "timeout 60ms retries 1");
        assert!(p.retry_storms.is_empty());
        assert!(p.services[1].unstable.is_none());
        let [(code, message)] = p.services[1].warnings.as_slice() else {
            panic!("one warning: {:?}", p.services[1].warnings)
        };
        assert_eq!(code.id, "W0802");
        assert!(message.starts_with("retry storm risk: "), "{message}");
        assert!(message.contains("92 rps, 92% of capacity"), "{message}");
    }

    /// Every attempt timing out would load `b` to 96% (2 × 48 rps): the correlated-attempts
    /// model finds no steady state (it reaches past its grid however wide), says so, and the
    /// figures are those of independent attempts (docs/models.md, Known defect 1).
    #[test]
    fn no_steady_state_is_a_warning() {
        let p = predict_calls_at(48.0, "timeout 60ms retries 1");
        assert_eq!(p.services[1].model, "M/M/c exact");
        let [(steady, none), (risk, message)] = p.services[1].warnings.as_slice() else {
            panic!("two warnings: {:?}", p.services[1].warnings)
        };
        assert_eq!((steady.id, risk.id), ("W0802", "W0802"));
        assert!(none.contains("have no steady state"), "{none}");
        assert!(message.starts_with("retry storm risk: "), "{message}");
    }
}

/// The figures docs/models.md reports as measured, reproduced: `cargo test --test queueing
/// measured`.
mod measured {
    use kendall::queueing::forkjoin::fork_join_mean;
    use kendall::queueing::{MMc, Options, predict};
    use kendall::resolve::MemoryLoader;

    fn predict_one(text: &str) -> kendall::queueing::Prediction {
        let c = kendall::compile("t.arch", text.as_bytes(), &MemoryLoader::new());
        let options = Options {
            load: 1.0,
            ..Default::default()
        };
        predict(c.model.as_ref().expect("the design checks"), &options).expect("traffic settles")
    }

    /// "Lattice sweep": one shared `exp(10ms)` station, c ∈ {1, 2, 4, 16, 64} × seven loads;
    /// the end-to-end mean and percentiles against exact M/M/c, largest relative error 0.011%.
    #[test]
    fn lattice_sweep_against_exact_mmc() {
        let mut worst: f64 = 0.0;
        for c in [1u32, 2, 4, 16, 64] {
            for rho in [0.3, 0.5, 0.7, 0.85, 0.9, 0.95, 0.98] {
                let rate = rho * c as f64 * 100.0;
                let p = predict_one(&format!(
                    "system t {{ workload w {{ entry s.q  rate {rate} rps }}
                       service s {{ replicas 1  workers {c}  balance shared  endpoint q {{ time exp(10ms) }} }} }}"
                ));
                let l = p.workloads[0].latency.as_ref().unwrap();
                let exact = MMc::new(c, rate, 100.0).unwrap();
                let pairs = [
                    (l.mean_s, exact.mean_sojourn()),
                    (l.p50_s, exact.sojourn_quantile(0.5)),
                    (l.p95_s, exact.sojourn_quantile(0.95)),
                    (l.p99_s, exact.sojourn_quantile(0.99)),
                    (l.p999_s, exact.sojourn_quantile(0.999)),
                ];
                for (got, want) in pairs {
                    worst = worst.max(((got - want) / want).abs());
                }
            }
        }
        assert!(worst < 1.2e-4, "largest relative error {worst:e}");
    }

    /// "Fork-join mean": k `exp(10ms)` M/M/1 shards entered by one workload. The lattice's
    /// independent maximum alone was ρ/(12 − ρ) high against Flatto–Hahn for k = 2 and up to
    /// 36% high against Nelson–Tantawi for k = 32 at ρ = 0.9 (`independent`, the table's
    /// columns); with the fork-join correction the mean is Flatto–Hahn's for k = 2, and
    /// Nelson–Tantawi's for k > 2 (whose error against the simulator is in the accuracy table).
    #[test]
    fn fork_join_means() {
        let table: [(u32, [f64; 4]); 4] = [
            (2, [2.6, 4.3, 6.2, 8.1]),
            (4, [5.8, 9.9, 14.3, 19.0]),
            (8, [7.8, 13.6, 19.9, 26.7]),
            (32, [10.1, 17.9, 26.5, 36.2]),
        ];
        for (k, independent) in table {
            for (rho, excess) in [0.3, 0.5, 0.7, 0.9].into_iter().zip(independent) {
                let rate = rho * 100.0;
                let p = predict_one(&format!(
                    "system t {{ workload w {{ entry s.q  rate {rate} rps }}
                       service s {{ replicas 1  workers 1  shards {k}  balance shared  endpoint q {{ time exp(10ms) }} }} }}"
                ));
                let l = p.workloads[0].latency.as_ref().unwrap();
                let reference = fork_join_mean(k, rho, 1.0 / (100.0 - rate));
                let got = (l.mean_s / reference - 1.0) * 100.0;
                assert!(got.abs() < 0.06, "k={k} ρ={rho}: {got:+.3}%");
                // The percentiles keep the independent maximum: its mean H_k·R₁ is `excess`
                // above the reference, and p50 lies between the two means.
                let h: f64 = (1..=k).map(|i| 1.0 / i as f64).sum();
                let independent_mean = h / (100.0 - rate);
                assert!(
                    ((independent_mean / reference - 1.0) * 100.0 - excess).abs() < 0.06,
                    "k={k} ρ={rho}"
                );
                assert!(l.p99_s > independent_mean);
            }
        }
    }
}
