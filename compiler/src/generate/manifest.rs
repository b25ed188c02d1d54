//! The manifest of generated files (`.kendall-manifest.json` in the output directory): each
//! file's SHA-256 as kendall wrote it. A file whose bytes no longer match was edited by its
//! user, and is not overwritten without `--force`. Deciding is pure; the binary reads and
//! writes the files.

use super::File;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const FILE_NAME: &str = ".kendall-manifest.json";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Path → lowercase hex SHA-256 of the bytes kendall wrote.
    pub files: BTreeMap<String, String>,
}

pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// Reads a manifest; `None` when it is not one (a missing or foreign file counts as no
    /// manifest, so every existing file is treated as the user's).
    pub fn parse(text: &str) -> Option<Manifest> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v.get("format_version")?.as_u64()? != u64::from(FORMAT_VERSION) {
            return None;
        }
        let files = v
            .get("files")?
            .as_object()?
            .iter()
            .map(|(k, h)| Some((k.clone(), h.as_str()?.to_string())))
            .collect::<Option<_>>()?;
        Some(Manifest {
            format_version: FORMAT_VERSION,
            files,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serialises") + "\n"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// New, or unchanged by its user since kendall wrote it: write.
    Write,
    /// Already has exactly these bytes.
    Unchanged,
    /// Edited by its user (or not written by kendall): kept.
    Kept,
    /// Edited, but `--force`: overwritten.
    Overwrite,
}

/// What to do with each generated file, given what is on disk (`None` when absent) and the
/// previous manifest; and the manifest to record afterwards.
pub fn decide(
    files: &[File],
    on_disk: &dyn Fn(&str) -> Option<Vec<u8>>,
    previous: &Manifest,
    force: bool,
) -> (Vec<Action>, Manifest) {
    let mut next = Manifest {
        format_version: FORMAT_VERSION,
        files: BTreeMap::new(),
    };
    let actions = files
        .iter()
        .map(|f| {
            let new_hash = hash(&f.bytes);
            let action = match on_disk(&f.path) {
                None => Action::Write,
                Some(current) if current == f.bytes => Action::Unchanged,
                Some(current) if previous.files.get(&f.path) == Some(&hash(&current)) => {
                    Action::Write
                }
                Some(_) if force => Action::Overwrite,
                Some(_) => Action::Kept,
            };
            match action {
                // An edited file keeps its old record, so it stays "edited" on the next run.
                Action::Kept => {
                    if let Some(h) = previous.files.get(&f.path) {
                        next.files.insert(f.path.clone(), h.clone());
                    }
                }
                _ => {
                    next.files.insert(f.path.clone(), new_hash);
                }
            }
            action
        })
        .collect();
    (actions, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, text: &str) -> File {
        File {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn edited_files_are_kept_unless_forced() {
        let files = [f("a", "new a"), f("b", "new b"), f("c", "c"), f("d", "d")];
        let mut previous = Manifest::default();
        previous.files.insert("a".into(), hash(b"old a"));
        previous.files.insert("b".into(), hash(b"old b"));
        let disk = |p: &str| match p {
            "a" => Some(b"old a".to_vec()),    // as kendall wrote it
            "b" => Some(b"edited b".to_vec()), // changed by its user
            "c" => Some(b"c".to_vec()),        // already current
            _ => None,
        };
        let (actions, next) = decide(&files, &disk, &previous, false);
        assert_eq!(
            actions,
            [
                Action::Write,
                Action::Kept,
                Action::Unchanged,
                Action::Write
            ]
        );
        assert_eq!(next.files["a"], hash(b"new a"));
        assert_eq!(next.files["b"], hash(b"old b"));
        assert_eq!(next.files["d"], hash(b"d"));
        let (actions, next) = decide(&files, &disk, &previous, true);
        assert_eq!(actions[1], Action::Overwrite);
        assert_eq!(next.files["b"], hash(b"new b"));
    }

    #[test]
    fn a_file_kendall_did_not_write_is_kept() {
        let (actions, next) = decide(
            &[f("x", "mine?")],
            &|_| Some(b"theirs".to_vec()),
            &Manifest::default(),
            false,
        );
        assert_eq!(actions, [Action::Kept]);
        assert!(next.files.is_empty());
    }

    #[test]
    fn manifests_round_trip_and_foreign_files_are_not_manifests() {
        let mut m = Manifest {
            format_version: FORMAT_VERSION,
            ..Default::default()
        };
        m.files.insert("k.yaml".into(), hash(b""));
        assert_eq!(Manifest::parse(&m.to_json()), Some(m));
        assert_eq!(
            Manifest::parse("{\"format_version\": 9, \"files\": {}}"),
            None
        );
        assert_eq!(Manifest::parse("not json"), None);
        assert_eq!(
            hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
