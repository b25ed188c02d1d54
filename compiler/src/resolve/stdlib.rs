//! The standard library, embedded in the binary so `use std.ml.{…}` needs no files on disk.

/// `(module path, file name shown in diagnostics, text)`.
const MODULES: &[(&str, &str, &str)] = &[
    (
        "ml",
        "<std>/ml.arch",
        include_str!("../../../stdlib/ml.arch"),
    ),
    (
        "data",
        "<std>/data.arch",
        include_str!("../../../stdlib/data.arch"),
    ),
];

/// The module's display name and text, for `std.PATH`.
pub fn module(path: &str) -> Option<(&'static str, &'static str)> {
    MODULES
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|&(_, name, text)| (name, text))
}

/// The names of all modules, as written after `std.`.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(p, _, _)| *p)
}
