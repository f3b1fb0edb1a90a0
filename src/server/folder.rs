//! The server's own folder, before and after a run: which files the server wrote there (a log
//! file, a database, a dump), for the `writes-files` warning.
//!
//! Bounded on purpose: two levels deep, a thousand entries, and Python's own `__pycache__`,
//! virtual environments, build output and version-control folders left out (a server run from
//! a big folder costs no more than one run from a student's).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// Entries looked at, at most.
const MAX_ENTRIES: usize = 1000;
/// Folder levels below the server's own.
const MAX_DEPTH: usize = 2;

/// The files under a folder: their size and when they last changed.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(BTreeMap<String, (u64, Option<SystemTime>)>);

fn skipped(name: &str) -> bool {
    matches!(
        name,
        "__pycache__" | ".git" | ".hg" | ".svn" | "target" | "node_modules" | ".venv" | "venv"
    ) || name.ends_with(".pyc")
}

/// The files under `dir`, as far as the bounds go.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut files = BTreeMap::new();
    let mut todo = vec![(dir.to_path_buf(), 0usize)];
    let mut seen = 0;
    while let Some((at, depth)) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Snapshot(files);
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if skipped(&name) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    todo.push((path, depth + 1));
                }
            } else if let Ok(rel) = path.strip_prefix(dir) {
                files.insert(
                    rel.to_string_lossy().into_owned(),
                    (meta.len(), meta.modified().ok()),
                );
            }
        }
    }
    Snapshot(files)
}

impl Snapshot {
    /// The files of `after` that are new, or changed, since this snapshot, in name order.
    pub fn written(&self, after: &Snapshot) -> Vec<String> {
        after
            .0
            .iter()
            .filter(|(name, now)| self.0.get(*name) != Some(now))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_changed_files_are_written_and_caches_are_not() {
        let dir = crate::test_dir("folder");
        std::fs::write(dir.join("server.py"), "print()").unwrap();
        std::fs::write(dir.join("kept.txt"), "same").unwrap();
        let before = snapshot(&dir);
        std::fs::write(dir.join("server.log"), "started").unwrap();
        std::fs::write(dir.join("server.py"), "print('changed')").unwrap();
        std::fs::create_dir_all(dir.join("__pycache__")).unwrap();
        std::fs::write(dir.join("__pycache__/x.cpython-311.pyc"), "c").unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data/store.json"), "{}").unwrap();
        let after = snapshot(&dir);
        assert_eq!(
            before.written(&after),
            ["data/store.json", "server.log", "server.py"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
