//! Latency distributions on a lattice: P(T = i·h) for i = 0..n, the last point holding all
//! the mass beyond the grid. Sums of independent times are convolutions, the slowest of
//! independent branches is the product of their CDFs, and a choice between paths is a mixture;
//! all three are exact for lattice variables, so the only error is the discretisation of each
//! station's continuous distribution (mass within ±h/2 of i·h goes to i·h), the mass beyond the
//! grid, which [`Lattice::overflow`] reports, and the folding of tails lighter than [`TAIL`].
//!
//! Two forms of one thing: [`Lattice`] holds every point of the grid; [`Compact`] holds the
//! points up to the last one with mass (the *support*) and the overflow, and is what the
//! predictor computes with. Every operation runs over the supports of its operands, not over
//! the whole grid. Convolutions are direct when one operand is short and otherwise an FFT of
//! the two supports' length (2^k or 3·2^k points): real transforms done as complex ones of
//! half the size, with the unpacking, the product and the packing folded into one map on the
//! half-size transform ([`Kernel`]); a [`Shared`] lattice (a `time` convolved with many
//! others) keeps its kernels.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// A tail lighter than this (in probability) is folded onto the last point kept: a
/// discretisation stops once its CDF is within `TAIL` of 1, and a convolution or a wait cuts
/// the tail that holds at most `TAIL`. Mass is moved, never dropped, so the total stays 1;
/// a quantile below 1 − `TAIL` is unchanged, and a mean moves by at most `TAIL` × the grid's
/// span per fold.
pub const TAIL: f64 = 1e-9;

#[derive(Clone, Debug, PartialEq)]
pub struct Lattice {
    /// Spacing in seconds.
    pub step: f64,
    pub pmf: Vec<f64>,
}

/// A lattice of `points` points stored up to its support: `body[i]` = P(T = i·h) for
/// i < `body.len()` (≤ `points` − 1), zero from there up to the last point, which holds
/// `overflow`, the mass beyond the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Compact {
    /// Spacing in seconds.
    pub step: f64,
    pub points: usize,
    pub body: Vec<f64>,
    pub overflow: f64,
}

/// A borrowed [`Compact`], which either form gives without copying.
#[derive(Clone, Copy, Debug)]
struct View<'a> {
    step: f64,
    points: usize,
    body: &'a [f64],
    overflow: f64,
}

impl Lattice {
    /// Zero with certainty.
    pub fn zero(step: f64, points: usize) -> Lattice {
        Compact::zero(step, points).into_lattice()
    }

    /// A continuous (or atomic) distribution given by its CDF, discretised by rounding.
    pub fn from_cdf(step: f64, points: usize, cdf: impl Fn(f64) -> f64) -> Lattice {
        Compact::from_cdf(step, points, cdf).into_lattice()
    }

    pub fn points(&self) -> usize {
        self.pmf.len()
    }

    /// Mass on the last point: the part of the distribution beyond the grid.
    pub fn overflow(&self) -> f64 {
        *self.pmf.last().expect("a lattice has points")
    }

    /// One past the last point with mass, the overflow point left out: the points past it, up
    /// to the overflow point, are all zero.
    pub fn support(&self) -> usize {
        let body = &self.pmf[..self.points() - 1];
        let mut end = body.len();
        // Whole blocks of zeros first (sign bits shifted out, so −0.0 counts as zero).
        while end >= 8
            && body[end - 8..end]
                .iter()
                .fold(0u64, |any, p| any | (p.to_bits() << 1))
                == 0
        {
            end -= 8;
        }
        while end > 0 && body[end - 1] == 0.0 {
            end -= 1;
        }
        end
    }

    /// The same distribution, stored up to its support.
    pub fn compact(&self) -> Compact {
        self.view().to_compact()
    }

    fn view(&self) -> View<'_> {
        View {
            step: self.step,
            points: self.points(),
            body: &self.pmf[..self.support()],
            overflow: self.overflow(),
        }
    }

    pub fn mean(&self) -> f64 {
        self.view().mean()
    }

    pub fn cdf_at(&self, i: usize) -> f64 {
        self.pmf[..=i.min(self.points() - 1)].iter().sum()
    }

    /// The `p`-quantile, interpolating linearly between lattice points.
    pub fn quantile(&self, p: f64) -> f64 {
        self.view().quantile(p)
    }

    /// The distribution of the sum of two independent times.
    pub fn convolve(&self, other: &Lattice) -> Lattice {
        self.view().convolve(other.view(), None).into_lattice()
    }

    /// Adds an independent wait that is 0 with probability 1 − `p` and otherwise exponential
    /// with mean `mean`: see [`Compact::add_exponential_wait`].
    pub fn add_exponential_wait(&self, p: f64, mean: f64) -> Lattice {
        self.view()
            .add_exponential_wait(p, mean, true)
            .into_lattice()
    }

    /// The distribution of the larger of two independent times: the product of the CDFs.
    pub fn max(&self, other: &Lattice) -> Lattice {
        self.view().max(other.view()).into_lattice()
    }

    /// The largest of `k` independent copies: CDF^k.
    pub fn max_of(&self, k: u32) -> Lattice {
        self.view().max_of(k).into_lattice()
    }

    /// `self` with probability `p`, `other` otherwise.
    pub fn mix(&self, p: f64, other: &Lattice) -> Lattice {
        self.view().mix(p, other.view()).into_lattice()
    }
}

impl Compact {
    /// Zero with certainty.
    pub fn zero(step: f64, points: usize) -> Compact {
        Compact {
            step,
            points,
            body: if points > 1 { vec![1.0] } else { Vec::new() },
            overflow: if points > 1 { 0.0 } else { 1.0 },
        }
    }

    /// A continuous (or atomic) distribution given by its CDF, discretised by rounding.
    pub fn from_cdf(step: f64, points: usize, cdf: impl Fn(f64) -> f64) -> Compact {
        Compact::from_boundary_cdf(step, points, 0, |i| cdf((i as f64 + 0.5) * step))
    }

    /// Like [`Compact::from_cdf`], given the CDF at the cell boundaries: `cdf(i)` is
    /// P(T ≤ (i + ½)·h). It is read only from `first` on; all the mass below that boundary
    /// goes on point `first`. Evaluation stops once the CDF is within [`TAIL`] of 1: the rest
    /// goes on the point reached.
    pub fn from_boundary_cdf(
        step: f64,
        points: usize,
        first: usize,
        mut cdf: impl FnMut(usize) -> f64,
    ) -> Compact {
        let last = points - 1;
        let first = first.min(last);
        // Room for the overflow point too, should the lattice be expanded.
        let mut body = Vec::with_capacity(points);
        // Below `first`, all mass on `first` (filled in by the first block).
        body.resize(first, 0.0);
        let mut below = 0.0f64;
        // In blocks: first the CDF values, which do not depend on each other (so the processor
        // overlaps their evaluation), then their differences. Only the blocks reached are
        // written: most discretisations stop far short of the grid's end.
        const BLOCK: usize = 64;
        for start in (first..last).step_by(BLOCK) {
            let end = last.min(start + BLOCK);
            body.extend((start..end).map(&mut cdf));
            let block = &mut body[start..end];
            for (j, mass) in block.iter_mut().enumerate() {
                let upper = *mass;
                if upper >= 1.0 - TAIL {
                    // The rest of the tail is lighter than TAIL: it goes here.
                    *mass = (1.0 - below).max(0.0);
                    body.truncate(start + j + 1);
                    return Compact {
                        step,
                        points,
                        body,
                        overflow: 0.0,
                    };
                }
                // (A CDF that dips by rounding gives no negative mass.)
                if upper > below {
                    *mass = upper - below;
                    below = upper;
                } else {
                    *mass = 0.0;
                }
            }
        }
        Compact {
            step,
            points,
            body,
            overflow: (1.0 - below).max(0.0),
        }
    }

    /// The same distribution on every point of the grid.
    pub fn into_lattice(self) -> Lattice {
        let mut pmf = self.body;
        pmf.resize(self.points - 1, 0.0);
        pmf.push(self.overflow);
        Lattice {
            step: self.step,
            pmf,
        }
    }

    fn view(&self) -> View<'_> {
        View {
            step: self.step,
            points: self.points,
            body: &self.body,
            overflow: self.overflow,
        }
    }

    pub fn mean(&self) -> f64 {
        self.view().mean()
    }

    /// P(T ≤ i·h).
    pub fn cdf_at(&self, i: usize) -> f64 {
        let body: f64 = self.body[..(i + 1).min(self.body.len())].iter().sum();
        if i + 1 >= self.points {
            body + self.overflow
        } else {
            body
        }
    }

    /// The `p`-quantile, interpolating linearly between lattice points.
    pub fn quantile(&self, p: f64) -> f64 {
        self.view().quantile(p)
    }

    /// The `p`-quantile as [`Compact::quantile`] gives it, if the body's mass reaches `p`:
    /// then a prefix of a lattice's body gives the same quantile as the whole lattice.
    pub fn quantile_in_body(&self, p: f64) -> Option<f64> {
        quantile_of(self.step, self.body.iter().copied().enumerate(), p)
    }

    /// The distribution of the sum of two independent times.
    pub fn convolve(&self, other: &Compact) -> Compact {
        self.view().convolve(other.view(), None)
    }

    /// Adds an independent wait that is 0 with probability 1 − `p` and otherwise exponential
    /// with mean `mean`, discretised like [`Compact::from_cdf`]. The wait's points past 0 are
    /// geometric (c·rⁱ), so the convolution is a first-order recursion: O(n), not an FFT. Past
    /// the support of `self` the result is geometric too, and it stops (folding the rest onto
    /// the point reached) once what is left is below [`TAIL`].
    pub fn add_exponential_wait(&self, p: f64, mean: f64) -> Compact {
        self.view().add_exponential_wait(p, mean, false)
    }

    /// The distribution of the larger of two independent times: the product of the CDFs.
    pub fn max(&self, other: &Compact) -> Compact {
        self.view().max(other.view())
    }

    /// The largest of `k` independent copies: CDF^k.
    pub fn max_of(&self, k: u32) -> Compact {
        self.view().max_of(k)
    }

    /// `self` with probability `p`, `other` otherwise.
    pub fn mix(&self, p: f64, other: &Compact) -> Compact {
        self.view().mix(p, other.view())
    }

    /// The same distribution on a grid of spacing `step` ≥ `self.step` (and as many points):
    /// each point's mass, taken as spread evenly over its cell (point 0, which holds the
    /// atoms at zero of skipped calls, as an atom), goes to the coarser cells it overlaps.
    /// That is [`Compact::from_cdf`]'s rounding applied to the finer distribution. The
    /// overflow stays overflow: its place beyond the finer grid is unknown.
    pub fn resample(&self, step: f64) -> Compact {
        assert!(step >= self.step, "resampling goes to a coarser grid");
        let last = self.points - 1;
        // In units of the fine step: coarse cell i is [(i − ½)·k, (i + ½)·k], fine cell j is
        // [j − ½, j + ½] (j ≥ 1), and k ≥ 1, so each coarse boundary cuts one fine cell.
        let k = step / self.step;
        let fine = &self.body;
        let mut body = Vec::with_capacity(last.min(fine.len()));
        let mut overflow = self.overflow;
        // The atom at zero, then the part of the cell cut last that lies above the cut.
        let mut carry = fine.first().copied().unwrap_or(0.0);
        let mut next = 1;
        while next < fine.len() {
            if body.len() == last {
                overflow += carry + fine[next..].iter().sum::<f64>();
                carry = 0.0;
                break;
            }
            let upper = (body.len() as f64 + 0.5) * k;
            // (Positive: truncation is the floor.)
            let j = (upper + 0.5) as usize;
            if j >= fine.len() {
                body.push(carry + fine[next..].iter().sum::<f64>());
                carry = 0.0;
                break;
            }
            let below = fine[j] * (upper - (j as f64 - 0.5));
            let whole: f64 = fine[next..j].iter().sum();
            body.push(carry + whole + below);
            carry = fine[j] - below;
            next = j + 1;
        }
        if carry > 0.0 {
            match body.len() < last {
                true => body.push(carry),
                false => overflow += carry,
            }
        }
        let kept = body.iter().rposition(|&p| p > 0.0).map_or(0, |i| i + 1);
        body.truncate(kept);
        Compact {
            step,
            points: self.points,
            body,
            overflow,
        }
    }

    /// `self` with probability `p`, zero otherwise.
    pub fn or_zero(&self, p: f64) -> Compact {
        self.view()
            .mix(p, Compact::zero(self.step, self.points).view())
    }
}

/// A lattice convolved with many others (a `time` shared by many endpoints), kept with the
/// convolution kernels of the sizes it has been convolved at.
#[derive(Debug)]
pub struct Shared {
    lattice: Compact,
    kernels: Kernels,
}

impl Shared {
    pub fn new(lattice: Compact) -> Shared {
        Shared {
            lattice,
            kernels: Kernels::default(),
        }
    }

    pub fn lattice(&self) -> &Compact {
        &self.lattice
    }

    /// The distribution of the sum of this time and an independent one.
    pub fn convolve(&self, other: &Compact) -> Compact {
        (self.lattice.view()).convolve(other.view(), Some(&self.kernels))
    }
}

/// Kernels of one lattice by size: see [`Kernel`].
#[derive(Debug, Default)]
struct Kernels(RefCell<Vec<(usize, Rc<Kernel>)>>);

impl Kernels {
    fn get(&self, body: &[f64], size: usize) -> Rc<Kernel> {
        let mut kernels = self.0.borrow_mut();
        if let Some((_, k)) = kernels.iter().find(|(n, _)| *n == size) {
            return Rc::clone(k);
        }
        let k = Rc::new(Kernel::new(body, size));
        kernels.push((size, Rc::clone(&k)));
        k
    }
}

/// Convolution with a real sequence `a` at `size` points, as a map on half-size transforms:
/// with Y the half-size transform of `b` packed in pairs (see [`real_spectrum`]), the
/// half-size transform whose inverse holds the convolution's even and odd points is
/// Z_k = α_k·Y_k + β_k·conj Y_{half−k} (Y_half = Y_0), k < half. Unpacking Y to B, the product
/// with A and packing back are each linear in Y_k and conj Y_{half−k}, so they fold into α and
/// β (with the inverse's 1/half): two complex products per point, in one forward pass.
#[derive(Debug)]
struct Kernel {
    alpha: Vec<Complex<f64>>,
    beta: Vec<Complex<f64>>,
}

impl Kernel {
    fn new(a: &[f64], size: usize) -> Kernel {
        let spectrum = real_spectrum(a, size);
        FFT.with(|cache| {
            let mut cache = cache.borrow_mut();
            let index = cache.prepare(size);
            let plan = &cache.sizes[index];
            let half = size / 2;
            let scale = 1.0 / half as f64;
            let (mut alpha, mut beta) = (Vec::with_capacity(half), Vec::with_capacity(half));
            for k in 0..half {
                let (a, mirror) = (spectrum[k] * scale, spectrum[half - k].conj() * scale);
                let [pu, qv, pv, qu] = plan.folds[k];
                alpha.push(pu * a + qv * mirror);
                beta.push(pv * a + qu * mirror);
            }
            Kernel { alpha, beta }
        })
    }
}

impl View<'_> {
    fn to_compact(self) -> Compact {
        Compact {
            step: self.step,
            points: self.points,
            body: self.body.to_vec(),
            overflow: self.overflow,
        }
    }

    /// A result with this grid.
    fn with(self, body: Vec<f64>, overflow: f64) -> Compact {
        Compact {
            step: self.step,
            points: self.points,
            body,
            overflow,
        }
    }

    fn mean(self) -> f64 {
        let body: f64 = self
            .body
            .iter()
            .enumerate()
            .map(|(i, p)| i as f64 * p)
            .sum();
        (body + (self.points - 1) as f64 * self.overflow) * self.step
    }

    fn quantile(self, p: f64) -> f64 {
        let last = self.points - 1;
        let masses = self.body.iter().copied().enumerate();
        quantile_of(self.step, masses.chain([(last, self.overflow)]), p)
            .unwrap_or(last as f64 * self.step)
    }

    /// The sum of two independent times; `kernels` keeps the convolution kernels of `self`
    /// when it is convolved with many others.
    fn convolve(self, other: View<'_>, kernels: Option<&Kernels>) -> Compact {
        assert_eq!(self.points, other.points, "lattices must share a grid");
        let (a, b) = (self.body, other.body);
        let mut out = Vec::new();
        if !a.is_empty() && !b.is_empty() {
            // Everything past the grid lands on the last point, so only the body is computed.
            let len = (a.len() + b.len() - 1).min(self.points - 1);
            let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
            if direct_is_cheaper(short.len(), long.len()) {
                // The first row is written, not added to zeros (x + 0 = x: the same bits).
                out = Vec::with_capacity(len);
                out.extend(long.iter().take(len).map(|&l| short[0] * l));
                out.resize(len, 0.0);
                for (i, &s) in short.iter().enumerate().take(len).skip(1) {
                    let reach = (len - i).min(long.len());
                    for (o, &l) in out[i..i + reach].iter_mut().zip(&long[..reach]) {
                        *o += s * l;
                    }
                }
            } else {
                let size = fft_size(a.len() + b.len() - 1);
                // Every point is written: no zeroing first.
                out = Vec::with_capacity(len);
                match kernels {
                    Some(kernels) => fft_convolve(&kernels.get(a, size), b, len, &mut out),
                    None => fft_convolve(&Kernel::new(a, size), b, len, &mut out),
                }
            }
            let kept = fold_tail(&mut out);
            out.truncate(kept);
        }
        let kept = sum(&out);
        self.with(out, (1.0 - kept).max(0.0))
    }

    /// `expand`: leave room for the whole grid, for a result that becomes a [`Lattice`].
    fn add_exponential_wait(self, p: f64, mean: f64, expand: bool) -> Compact {
        let body = self.points - 1;
        let h = self.step;
        // A wait far shorter than a cell lies within point 0 but for p·e^{−h/2m} < 1e-17; the
        // recursion below would also overflow there (e^{h/2m}).
        if h / (2.0 * mean) > 40.0 {
            return self.to_compact();
        }
        let r = (-h / mean).exp();
        let at_zero = 1.0 - p * (-h / (2.0 * mean)).exp();
        let c = p * (h / (2.0 * mean)).exp() * (1.0 - r);
        let x = self.body;
        // Past the support, what is left after k more points is at most c·r^{k+2}/(1 − r)²
        // (the tail is at most r/(1 − r)), below TAIL after this many points.
        let beyond = (TAIL * (1.0 - r) * (1.0 - r) / (c * r * r)).ln() / r.ln();
        let room = if expand || beyond.is_nan() || beyond >= body as f64 {
            self.points
        } else {
            (x.len() + beyond.max(0.0) as usize + 2).min(self.points)
        };
        let mut out = Vec::with_capacity(room);
        // tail[i] = Σ_{k≥1} rᵏ·x[i−k] = r·(x[i−1] + tail[i−1]). In blocks of B points,
        // tail[i+k] = r^{k+1}·tail[i−1] + s_k, where s_k comes from the block's own points: the
        // chain from block to block is one multiply-add, and the s_k of different blocks are
        // independent, so the processor overlaps them.
        const B: usize = 8;
        let mut powers = [r; B];
        for k in 1..B {
            powers[k] = powers[k - 1] * r;
        }
        let mut tail = 0.0;
        let mut previous = 0.0;
        for xs in x.chunks_exact(B) {
            let mut s = [0.0; B];
            let mut within = 0.0;
            let mut before = previous;
            for (s, &x) in s.iter_mut().zip(xs) {
                within = r * (before + within);
                *s = within;
                before = x;
            }
            let mut block = [0.0; B];
            for (((o, &x), &s), &power) in block.iter_mut().zip(xs).zip(&s).zip(&powers) {
                *o = at_zero * x + c * (power * tail + s);
            }
            out.extend_from_slice(&block);
            tail = powers[B - 1] * tail + s[B - 1];
            previous = xs[B - 1];
        }
        for &x in &x[x.len() / B * B..] {
            tail = r * (previous + tail);
            previous = x;
            out.push(at_zero * previous + c * tail);
        }
        // Past the support the result is geometric: stop once what is left, c·tail·(r + r² +
        // …), is below TAIL, and put it on the point reached.
        while out.len() < body {
            tail = r * (previous + tail);
            previous = 0.0;
            let rest = c * tail * r / (1.0 - r);
            if rest <= TAIL {
                out.push(c * tail + rest);
                break;
            }
            out.push(c * tail);
        }
        let kept = sum(&out);
        self.with(out, (1.0 - kept).max(0.0))
    }

    fn max(self, other: View<'_>) -> Compact {
        assert_eq!(self.points, other.points, "lattices must share a grid");
        // The CDFs (capped at 1 against rounding), then their product point by point; past
        // the shorter support its CDF stays flat.
        let capped = |f: f64| if f > 1.0 { 1.0 } else { f };
        let (mut a, mut b) = (0.0, 0.0);
        let mut cdf = Vec::with_capacity(self.body.len().max(other.body.len()));
        for (&x, &y) in self.body.iter().zip(other.body) {
            a += x;
            b += y;
            cdf.push(capped(a) * capped(b));
        }
        let common = cdf.len();
        for &x in &self.body[common..] {
            a += x;
            cdf.push(capped(a) * capped(b));
        }
        for &y in &other.body[common..] {
            b += y;
            cdf.push(capped(a) * capped(b));
        }
        self.with_cdf_values(cdf)
    }

    fn max_of(self, k: u32) -> Compact {
        let mut a = 0.0;
        let cdf = (self.body.iter())
            .map(|&x| {
                a += x;
                (if a > 1.0 { 1.0 } else { a }).powi(k as i32)
            })
            .collect();
        self.with_cdf_values(cdf)
    }

    fn mix(self, p: f64, other: View<'_>) -> Compact {
        assert_eq!(self.points, other.points, "lattices must share a grid");
        let q = 1.0 - p;
        let mut out = Vec::with_capacity(self.body.len().max(other.body.len()));
        out.extend((self.body.iter().zip(other.body)).map(|(&a, &b)| p * a + q * b));
        let common = out.len();
        // Past the shorter support its points are 0, and p·0 + x = x.
        out.extend(self.body[common..].iter().map(|&a| p * a));
        out.extend(other.body[common..].iter().map(|&b| q * b));
        self.with(out, p * self.overflow + q * other.overflow)
    }

    /// The lattice whose CDF at the points of the body is `cdf` (in place: each value becomes
    /// its point's mass); past it the CDF stays flat up to the overflow point.
    fn with_cdf_values(self, mut cdf: Vec<f64>) -> Compact {
        cdf.truncate(self.points - 1);
        let mut below = 0.0;
        for mass in cdf.iter_mut() {
            let upto = *mass;
            // (A CDF that dips by rounding gives no negative mass.)
            if upto > below {
                *mass = upto - below;
                below = upto;
            } else {
                *mass = 0.0;
            }
        }
        self.with(cdf, (1.0 - below).max(0.0))
    }
}

/// The `p`-quantile of the points (index, mass) in order, interpolating linearly between
/// lattice points; `None` if their mass does not reach `p`.
fn quantile_of(step: f64, masses: impl Iterator<Item = (usize, f64)>, p: f64) -> Option<f64> {
    let mut below = 0.0;
    for (i, mass) in masses {
        let upto = below + mass;
        if upto >= p {
            if i == 0 || mass == 0.0 {
                return Some(i as f64 * step);
            }
            // Spread the point's mass over the half-cells around it.
            let within = (p - below) / mass;
            return Some((i as f64 - 0.5 + within) * step);
        }
        below = upto;
    }
    None
}

/// Σ xᵢ, in four interleaved partial sums: a fixed order (so the same bits on every run), and
/// four times shorter a chain of dependent additions than one running total.
fn sum(x: &[f64]) -> f64 {
    let mut lanes = [0.0; 4];
    let mut chunks = x.chunks_exact(4);
    for c in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(c) {
            *lane += v;
        }
    }
    let rest: f64 = chunks.remainder().iter().sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + rest
}

/// Folds the lightest tail of `body` (at most [`TAIL`] in all) onto the last point kept, and
/// returns how many points are kept.
fn fold_tail(body: &mut [f64]) -> usize {
    let mut end = body.len();
    let mut tail = 0.0;
    while end > 1 && tail + body[end - 1] <= TAIL {
        tail += body[end - 1];
        end -= 1;
    }
    if end < body.len() {
        body[end - 1] += tail;
    }
    end
}

/// The transform size for a linear convolution of `n` points: the smallest 2^k or 3·2^k
/// (both even, as the packed real transform needs, and both fast in rustfft) of at least `n`.
/// 3·2^k saves a quarter of the work when `n` is just past a power of two.
fn fft_size(n: usize) -> usize {
    let power = n.next_power_of_two().max(4);
    let three = 3 * (power / 4);
    if three >= n && three >= 6 {
        three
    } else {
        power
    }
}

/// Whether multiplying out `short × long` terms costs less than an FFT of their length.
fn direct_is_cheaper(short: usize, long: usize) -> bool {
    let size = (short + long - 1).next_power_of_two();
    // A packed real FFT convolution costs about 3·size·log2(size) multiply-adds of complex
    // numbers (four real ones each); a direct one short·long real ones, which vectorise.
    short * long <= 4 * size * size.trailing_zeros() as usize
}

thread_local! {
    /// Plans (costly to make, one per size), twiddles and buffers, kept per thread.
    static FFT: RefCell<FftCache> = RefCell::new(FftCache::new());
}

struct FftCache {
    planner: FftPlanner<f64>,
    sizes: Vec<FftSize>,
    buffer: Vec<Complex<f64>>,
    /// The buffer's points in mirrored order (Y_{half−k}).
    mirror: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

/// What a real transform of `size` points needs: complex transforms of half the size.
struct FftSize {
    size: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    /// e^{2πik/size} for k = 0..=size/2.
    twiddles: Vec<Complex<f64>>,
    /// For k < half, the factors of A_k and conj A_{half−k} in α_k and β_k ([`Kernel`]):
    /// p_k·u_k, q_k·conj v_{half−k}, p_k·v_k, q_k·conj u_{half−k}, where B_k = u_k·Y_k +
    /// v_k·conj Y_{half−k} unpacks (u_k = (1 − i·conj w_k)/2, v_k = (1 + i·conj w_k)/2, w_k the
    /// twiddle) and Z_k = p_k·C_k + q_k·conj C_{half−k} packs (p_k = (1 + i·w_k)/2, q_k =
    /// (1 − i·w_k)/2).
    folds: Vec<[Complex<f64>; 4]>,
}

impl FftCache {
    fn new() -> FftCache {
        FftCache {
            planner: FftPlanner::new(),
            sizes: Vec::new(),
            buffer: Vec::new(),
            mirror: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The plans for `size`, made on first use, and buffers of the right lengths.
    fn prepare(&mut self, size: usize) -> usize {
        let index = match self.sizes.iter().position(|s| s.size == size) {
            Some(i) => i,
            None => {
                let half = size / 2;
                let twiddles: Vec<Complex<f64>> = (0..=half)
                    .map(|k| {
                        let angle = std::f64::consts::TAU * k as f64 / size as f64;
                        Complex::from_polar(1.0, angle)
                    })
                    .collect();
                let i = Complex::new(0.0, 1.0);
                let u = |k: usize| (1.0 - i * twiddles[k].conj()) * 0.5;
                let v = |k: usize| (1.0 + i * twiddles[k].conj()) * 0.5;
                let p = |k: usize| (1.0 + i * twiddles[k]) * 0.5;
                let q = |k: usize| (1.0 - i * twiddles[k]) * 0.5;
                let folds = (0..half)
                    .map(|k| {
                        let j = half - k;
                        [
                            p(k) * u(k),
                            q(k) * v(j).conj(),
                            p(k) * v(k),
                            q(k) * u(j).conj(),
                        ]
                    })
                    .collect();
                self.sizes.push(FftSize {
                    size,
                    forward: self.planner.plan_fft_forward(half),
                    inverse: self.planner.plan_fft_inverse(half),
                    twiddles,
                    folds,
                });
                self.sizes.len() - 1
            }
        };
        let plan = &self.sizes[index];
        let scratch =
            (plan.forward.get_inplace_scratch_len()).max(plan.inverse.get_inplace_scratch_len());
        self.scratch.resize(scratch, Complex::default());
        index
    }
}

/// The transform X_k = Σ_j x_j·e^{−2πijk/size}, k = 0..=size/2, of a real sequence (zero
/// padded to `size`), by one complex transform of half the size: with y_m = x_{2m} +
/// i·x_{2m+1} and Y its transform, the even and odd points' transforms are
/// E_k = (Y_k + conj Y_{half−k})/2 and O_k = (Y_k − conj Y_{half−k})/2i, and
/// X_k = E_k + e^{−2πik/size}·O_k.
fn real_spectrum(x: &[f64], size: usize) -> Vec<Complex<f64>> {
    FFT.with(|cache| {
        let mut cache = cache.borrow_mut();
        let index = cache.prepare(size);
        let FftCache {
            sizes,
            buffer,
            scratch,
            ..
        } = &mut *cache;
        let mut out = Vec::new();
        forward(&sizes[index], x, buffer, scratch, &mut out);
        out
    })
}

fn forward(
    plan: &FftSize,
    x: &[f64],
    buffer: &mut Vec<Complex<f64>>,
    scratch: &mut [Complex<f64>],
    out: &mut Vec<Complex<f64>>,
) {
    let half = plan.size / 2;
    buffer.clear();
    buffer.extend(
        x.chunks(2)
            .map(|pair| Complex::new(pair[0], *pair.get(1).unwrap_or(&0.0))),
    );
    buffer.resize(half, Complex::default());
    plan.forward.process_with_scratch(buffer, scratch);
    // Y_{half} is Y_0.
    let wrapped = |k: usize| if k == half { buffer[0] } else { buffer[k] };
    out.clear();
    out.extend((0..=half).zip(&plan.twiddles).map(|(k, twiddle)| {
        let y = wrapped(k);
        let mirror = wrapped(half - k).conj();
        let even = (y + mirror) * 0.5;
        let odd = (y - mirror) * Complex::new(0.0, -0.5);
        even + twiddle.conj() * odd
    }));
}

/// Pushes onto `out` the first `len` points of the linear convolution of the sequence `kernel`
/// was made from with `b`: `b`'s half-size transform, mapped by the kernel, transformed back
/// (the result is real: its even points in the real parts, its odd points in the imaginary
/// ones).
fn fft_convolve(kernel: &Kernel, b: &[f64], len: usize, out: &mut Vec<f64>) {
    let half = kernel.alpha.len();
    FFT.with(|cache| {
        let mut cache = cache.borrow_mut();
        let index = cache.prepare(2 * half);
        let FftCache {
            sizes,
            buffer,
            mirror,
            scratch,
            ..
        } = &mut *cache;
        let plan = &sizes[index];
        buffer.clear();
        buffer.extend(
            b.chunks(2)
                .map(|pair| Complex::new(pair[0], *pair.get(1).unwrap_or(&0.0))),
        );
        buffer.resize(half, Complex::default());
        plan.forward.process_with_scratch(buffer, scratch);
        // Y_{half−k}, read forwards (Y_half is Y_0): the pass below then runs over four
        // slices in step.
        mirror.clear();
        mirror.push(buffer[0]);
        mirror.extend(buffer[1..].iter().rev());
        for (((z, m), alpha), beta) in (buffer.iter_mut())
            .zip(mirror.iter())
            .zip(&kernel.alpha)
            .zip(&kernel.beta)
        {
            *z = alpha * *z + beta * m.conj();
        }
        plan.inverse.process_with_scratch(buffer, scratch);
        // Rounding dust below 0 is clipped.
        for y in &buffer[..len / 2] {
            out.push(y.re.max(0.0));
            out.push(y.im.max(0.0));
        }
        if len % 2 == 1 {
            out.push(buffer[len / 2].re.max(0.0));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(rate: f64, step: f64, n: usize) -> Lattice {
        Lattice::from_cdf(step, n, |t| {
            if t <= 0.0 {
                0.0
            } else {
                1.0 - (-rate * t).exp()
            }
        })
    }

    #[test]
    fn sum_of_two_exponentials_is_hypoexponential() {
        let (a, b) = (100.0, 250.0);
        let (step, n) = (4e-5, 8192);
        let s = exp(a, step, n).convolve(&exp(b, step, n));
        assert!(s.overflow() < 1e-12);
        let mean = 1.0 / a + 1.0 / b;
        // Rounding to the grid moves the mean by O(h²): 2e-6 here.
        assert!(
            ((s.mean() - mean) / mean).abs() < 1e-5,
            "{} vs {mean}",
            s.mean()
        );
        // P(T > t) = (b e^{-at} − a e^{-bt}) / (b − a); its 0.99 point by bisection:
        let tail = |t: f64| (b * (-a * t).exp() - a * (-b * t).exp()) / (b - a);
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..100 {
            let m = 0.5 * (lo + hi);
            if tail(m) > 0.01 { lo = m } else { hi = m }
        }
        let p99 = s.quantile(0.99);
        assert!(((p99 - lo) / lo).abs() < 1e-3, "{p99} vs {lo}");
    }

    #[test]
    fn max_is_the_product_of_cdfs() {
        let (step, n) = (1e-5, 8192);
        let e = exp(100.0, step, n);
        let m2 = e.max(&e);
        // E[max of two Exp(λ)] = 1.5/λ
        assert!((m2.mean() - 0.015).abs() < 2e-5, "{}", m2.mean());
        assert_eq!(m2, e.max_of(2));
    }

    #[test]
    fn the_wait_recursion_equals_the_fft_convolution() {
        let (step, n) = (1e-4, 1024);
        let own = exp(300.0, step, n);
        let (p, mean) = (0.4, 0.006);
        let wait = Lattice::from_cdf(step, n, |t| {
            if t < 0.0 {
                0.0
            } else {
                1.0 - p * (-t / mean).exp()
            }
        });
        let fft = own.convolve(&wait);
        let fast = own.add_exponential_wait(p, mean);
        // Point by point away from the tails, which each folds at its own point (the FFT's
        // operand, the wait, was cut where its tail fell below TAIL); the CDFs everywhere.
        let (mut fa, mut fb) = (0.0, 0.0);
        for (a, b) in fft.pmf.iter().zip(&fast.pmf) {
            if 1.0 - fa > 1e-6 {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
            (fa, fb) = (fa + a, fb + b);
            assert!((fa - fb).abs() <= 2.0 * TAIL, "{fa} vs {fb}");
        }
    }

    /// A wait of a thousandth of a cell: the recursion's e^{h/2m} would overflow to ∞ and
    /// turn the lattice into NaN (found by the robustness proptest on a rescaled recsys).
    #[test]
    fn a_wait_far_shorter_than_a_cell_stays_on_point_zero() {
        let (step, n) = (1e-2, 1024);
        let own = exp(30.0, step, n).compact();
        for mean in [1e-5, 1e-7, 1e-300] {
            let waited = own.add_exponential_wait(0.9, mean);
            assert_eq!(waited, own, "mean {mean}");
        }
        // Just inside the recursion's range it agrees with point 0 to 1e-17.
        let near = own.add_exponential_wait(0.9, step / 79.0);
        assert!(near.mean().is_finite());
        assert!((near.mean() - own.mean()).abs() < 1e-15);
    }

    #[test]
    fn mass_is_conserved() {
        let (step, n) = (1e-4, 1024);
        let e = exp(50.0, step, n);
        for l in [
            e.convolve(&e),
            e.max(&e),
            e.mix(0.3, &Lattice::zero(step, n)),
            e.add_exponential_wait(0.3, 0.01),
        ] {
            assert!((l.pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    /// The packed real FFT (at 2^k and 3·2^k points) and the direct sum agree with a plain
    /// O(n²) convolution, for operands of every shape (short, long, overflowing the grid).
    #[test]
    fn fft_and_direct_convolutions_match_the_definition() {
        let n = 512;
        let shapes = [
            (1, 1),
            (3, 200),
            (40, 90),
            (150, 300),
            // 629 points: a transform of 3·2^8.
            (300, 330),
            (400, 500),
            (511, 511),
        ];
        for (la, lb) in shapes {
            let make = |len: usize, seed: f64| {
                let mut pmf = vec![0.0; n];
                for (i, p) in pmf[..len.min(n - 1)].iter_mut().enumerate() {
                    *p = 1.0 + (seed * (i as f64 + 1.0)).sin();
                }
                let total: f64 = pmf.iter().sum();
                for p in &mut pmf {
                    *p /= total;
                }
                Lattice { step: 1.0, pmf }
            };
            let (a, b) = (make(la, 0.7), make(lb, 1.3));
            let mut want = vec![0.0; n];
            for i in 0..n - 1 {
                for j in 0..n - 1 - i {
                    want[i + j] += a.pmf[i] * b.pmf[j];
                }
            }
            want[n - 1] = 1.0 - want[..n - 1].iter().sum::<f64>();
            let got = a.convolve(&b);
            for (i, (g, w)) in got.pmf.iter().zip(&want).enumerate() {
                assert!((g - w).abs() < 1e-13, "{la}×{lb}, point {i}: {g} vs {w}");
            }
        }
    }

    /// Folding a light tail keeps the mass and leaves the support short.
    #[test]
    fn light_tails_are_folded() {
        let (step, n) = (1e-4, 4096);
        // 1 ms: e^{−t/1ms} < TAIL = 1e-9 beyond 20.7 ms, 207 points.
        let e = exp(1000.0, step, n);
        assert!((205..=209).contains(&e.support()), "{}", e.support());
        // A wait of 2 ms half the time: ½e^{−t/2ms} < 1e-9 beyond 40.1 ms.
        let w = e.add_exponential_wait(0.5, 0.002);
        assert!((395..=430).contains(&w.support()), "{}", w.support());
        let s = w.convolve(&w);
        assert!(s.support() < 2 * 430, "{}", s.support());
        for l in [&e, &w, &s] {
            assert!((l.pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert_eq!(l.overflow(), 0.0);
        }
    }

    /// Resampling onto a coarser grid is the coarser grid's rounding of the finer
    /// distribution: against an exponential discretised directly on the coarse grid, every
    /// point within the finer grid's rounding, the mean to O(h²), the mass whole.
    #[test]
    fn resampling_is_rounding_onto_the_coarser_grid() {
        let (fine, n) = (1e-5, 4096);
        let e = exp(100.0, fine, n).compact(); // 10 ms on 41 ms: e^{−4.1} ≈ 1.7% beyond.
        for k in [1.0, 2.0, 3.0, 4.7] {
            let r = e.resample(k * fine);
            let direct = exp(100.0, k * fine, n).compact();
            assert_eq!(r.step, k * fine);
            assert!((r.body.iter().sum::<f64>() + r.overflow - 1.0).abs() < 1e-12);
            // What lay beyond the finer grid stays beyond, although the coarser one reaches it.
            assert_eq!(r.overflow, e.overflow);
            assert!(r.overflow > 0.01);
            let (cut, mut worst) = ((4095.0 / k) as usize, 0.0f64);
            for (i, (a, b)) in r.body.iter().zip(&direct.body).enumerate().take(cut - 1) {
                worst = worst.max((a - b).abs() / b);
                assert!((a - b).abs() <= 2e-3 * b, "k {k}, point {i}: {a} vs {b}");
            }
            if k == 1.0 {
                assert_eq!(r, e);
            } else {
                assert!(worst > 0.0);
            }
        }
        // An atom at zero stays there; a point mass moves to the coarse cells it overlaps:
        // fine point 3 (cell [2.5, 3.5]) onto coarse cells of 2 fine steps: [1.5, 2.5] of
        // coarse point 1 takes nothing, [2.5, 3.5] is split evenly at 3 between points 1 and 2.
        let atoms = Compact {
            step: 1.0,
            points: 8,
            body: vec![0.25, 0.0, 0.0, 0.75],
            overflow: 0.0,
        };
        let r = atoms.resample(2.0);
        assert_eq!(r.body, vec![0.25, 0.375, 0.375]);
        assert_eq!(r.overflow, 0.0);
        // Past the coarser grid's last point, mass is overflow.
        let far = Compact {
            step: 1.0,
            points: 4,
            body: vec![0.5, 0.0, 0.5],
            overflow: 0.0,
        };
        let r = far.resample(3.0);
        assert_eq!((r.body.clone(), r.overflow), (vec![0.5, 0.5], 0.0));
        let r = far.resample(0.9 * 8.0);
        assert_eq!((r.body.clone(), r.overflow), (vec![1.0], 0.0));
    }
}
