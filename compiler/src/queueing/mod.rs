//! Analytic queueing models: the numbers behind `kendall predict` (issue 3, in progress).
//!
//! Each model documents its assumptions and where it is exact; `docs/models.md` lists them with
//! the error measured so far (known answers; the comparison against the simulator waits for the
//! simulator). The pipeline: [`traffic`] (rates per endpoint) → stations ([`mmc`], [`ggc`],
//! with [`service_time`] distributions) → end-to-end [`lattice`] distributions → [`predict`];
//! [`report`] turns the result into diagnostics, JSON and a table.

pub mod batching;
pub mod forkjoin;
pub mod ggc;
pub mod lattice;
pub mod mmc;
pub mod phmc;
pub mod predict;
pub mod qna;
pub mod report;
pub mod service_time;
pub mod timeout;
pub mod traffic;

pub use ggc::GGc;
pub use mmc::{MMc, Unstable};
pub use predict::{Options, Prediction, predict};
pub use service_time::Dist;
pub use traffic::{Divergent, Traffic, traffic};
