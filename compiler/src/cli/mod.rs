pub mod fmt;
pub mod graph;
