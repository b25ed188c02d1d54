//! Analytic queueing models: the numbers behind `kendall predict`.
//!
//! Each model documents its assumptions and where it is exact; `docs/models.md` lists them with
//! their errors against known answers and against the simulator (`tests/accuracy.rs`). The
//! pipeline: [`traffic`] (rates per endpoint, retries) and [`qna`] (arrival variability) →
//! stations ([`mmc`], [`phmc`], [`ggc`], [`mg1`], [`jsq`], [`batching`] and [`batch_wait`],
//! [`fes`] for blocking workers, with [`service_time`] distributions) → end-to-end [`lattice`]
//! distributions ([`timeout`], [`forkjoin`], [`batchmax`]) → [`predict`]; [`report`] turns the
//! result into diagnostics, JSON and a table.

pub mod batch_wait;
pub mod batching;
pub mod batchmax;
pub mod fes;
pub mod forkjoin;
pub mod ggc;
pub mod jsq;
pub mod lattice;
pub mod mg1;
pub mod mmc;
pub mod phmc;
pub mod predict;
pub mod qna;
pub mod report;
pub mod retry_queue;
pub mod service_time;
pub mod timeout;
pub mod traffic;

pub use ggc::GGc;
pub use mmc::{MMc, Unstable};
pub use predict::{Options, Prediction, RetryStorm, predict};
pub use service_time::Dist;
pub use traffic::{Divergent, Traffic, traffic};
