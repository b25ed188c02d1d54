//! Analytic queueing models: the numbers behind `kendall predict` (issue 3, in progress).
//!
//! Each model documents its assumptions and where it is exact; `docs/models.md` will publish the
//! measured error of every approximation against the simulator. So far: the M/M/c station,
//! exact.

pub mod ggc;
pub mod lattice;
pub mod mmc;
pub mod predict;
pub mod report;
pub mod service_time;
pub mod traffic;

pub use ggc::GGc;
pub use mmc::{MMc, Unstable};
pub use predict::{Options, Prediction, predict};
pub use service_time::Dist;
pub use traffic::{Divergent, Traffic, traffic};
