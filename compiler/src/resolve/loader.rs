//! Where imported files come from. The compiler never touches the file system itself: the CLI
//! passes a [`FsLoader`], tests pass a [`MemoryLoader`].

use std::collections::BTreeMap;
use std::io;

/// `Sync` because large designs are checked on two threads.
pub trait SourceLoader: Sync {
    /// Reads the file at `path` (as produced by [`join`]).
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
}

/// Reads from the file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct FsLoader;

impl SourceLoader for FsLoader {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// Files held in memory, for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryLoader {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl MemoryLoader {
    pub fn new() -> MemoryLoader {
        MemoryLoader::default()
    }

    pub fn with(mut self, path: &str, text: impl Into<Vec<u8>>) -> MemoryLoader {
        self.files.insert(path.to_string(), text.into());
        self
    }
}

impl SourceLoader for MemoryLoader {
    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "No such file or directory"))
    }
}

/// `relative` as seen from the file `from`, with `.` and `..` folded lexically.
pub fn join(from: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = if relative.starts_with('/') {
        vec![""]
    } else {
        let mut p: Vec<&str> = from.split('/').collect();
        p.pop();
        p
    };
    for seg in relative.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(&l) if l != ".." && !l.is_empty()) {
                    parts.pop();
                } else if parts.last() != Some(&"") {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return ".".into();
    }
    let joined = parts.join("/");
    if joined.is_empty() {
        "/".into()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_relative_paths() {
        assert_eq!(join("examples/a.arch", "./b.arch"), "examples/b.arch");
        assert_eq!(join("examples/a.arch", "../lib/b.arch"), "lib/b.arch");
        assert_eq!(join("a.arch", "b.arch"), "b.arch");
        assert_eq!(join("a.arch", "../b.arch"), "../b.arch");
        assert_eq!(join("/x/y/a.arch", "../../b.arch"), "/b.arch");
        assert_eq!(join("x/a.arch", "/abs/b.arch"), "/abs/b.arch");
    }
}
