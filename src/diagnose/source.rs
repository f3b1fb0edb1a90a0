//! The student's source: which files a server command runs, what Python's own parser finds in
//! them (`scan.py`, run by the interpreter the server uses), and the text of a given line.
//!
//! The scan parses; it never imports or runs the student's files. It runs isolated (`-I`: no
//! user site, no PYTHON* variables, no current folder on the path), so a submission's own
//! `json.py` or `ast.py` cannot stand in for the library's. It is bounded in time and output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

const SCANNER: &str = include_str!("scan.py");
/// How long the scan may take.
const SCAN_TIMEOUT: Duration = Duration::from_secs(10);
/// Output of the scan read at most.
const SCAN_OUTPUT_LIMIT: u64 = 4 << 20;
/// Python files read when the command names none.
const MAX_FILES: usize = 50;
/// A source file larger than this is not read for a line's text.
const MAX_SOURCE: u64 = 1 << 20;

/// One construct the scan found.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Fact {
    pub kind: String,
    pub file: String,
    pub line: u32,
    #[serde(default)]
    pub in_loop: Option<bool>,
    #[serde(default)]
    pub size: Option<i64>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub call: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ScanOutput {
    facts: Vec<Fact>,
    #[serde(default)]
    errors: Vec<String>,
}

/// The student's folder and what the scan found in it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub dir: PathBuf,
    pub facts: Vec<Fact>,
    /// Why some or all of the source could not be read, when so.
    pub problems: Vec<String>,
    /// The client's source, where the client (`grade --client-exec`) runs other files than the
    /// server: client findings are located there.
    pub client: Option<Box<Source>>,
}

impl Source {
    /// Scans the Python files that `command` runs, from `dir` (where the command runs): the
    /// `.py` files it names, or, for a Python command that names none (`python3 -m server`),
    /// every `.py` file in `dir`. A command that is not Python gets no scan, so unrelated
    /// Python files beside a compiled server are never blamed.
    pub fn for_command(command: &str, dir: &Path) -> Source {
        let words: Vec<&str> = command
            .split_whitespace()
            .map(|w| w.trim_matches(['\'', '"']))
            .collect();
        let interpreter = words.iter().copied().find(|w| {
            Path::new(w)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        });
        let mut files: Vec<PathBuf> = words
            .iter()
            .filter(|w| w.ends_with(".py"))
            .map(|w| dir.join(w))
            .filter(|p| p.is_file())
            .collect();
        if files.is_empty() && interpreter.is_some() {
            files = python_files(dir);
        }
        if files.is_empty() {
            return Source {
                dir: dir.to_owned(),
                problems: vec!["the command runs no Python file srpc-check can find".into()],
                ..Source::default()
            };
        }
        Source::scan(interpreter.unwrap_or("python3"), dir, &files)
    }

    /// Scans the program a running Python process runs, found from the process itself rather
    /// than from the command's words: its main script (or `-m` module, or `-c` code), from
    /// its own folder, then the files it imports or runs (`import`, `runpy.run_path` and
    /// `run_module`, `exec(open(...).read())`) that lie in `dir` (the submission's folder)
    /// or the process's folder. At most [`MAX_FILES`] files.
    #[cfg(unix)]
    pub fn for_program(program: &crate::server::supervisor::Program, dir: &Path) -> Source {
        let entry = Entry::of(&program.argv);
        let Some(entry) = entry else {
            return Source {
                dir: dir.to_owned(),
                problems: vec![format!(
                    "the server's Python process runs no script or module srpc-check can read ({})",
                    program.argv.join(" ")
                )],
                ..Source::default()
            };
        };
        let mut spec = serde_json::json!({
            "roots": [dir, &program.cwd],
            "cwd": program.cwd,
            "max_files": MAX_FILES,
        });
        match entry {
            Entry::Script(script) => {
                let parent = Path::new(&script)
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                spec["files"] = serde_json::json!([script]);
                spec["path"] = serde_json::json!([parent]);
            }
            Entry::Module(module) => {
                spec["modules"] = serde_json::json!([module]);
                spec["path"] = serde_json::json!([""]);
            }
            Entry::Code(code) => {
                spec["code"] = serde_json::json!(code);
                spec["path"] = serde_json::json!([""]);
            }
        }
        let python = program.argv[0].clone();
        let mut source = Source {
            dir: dir.to_owned(),
            ..Source::default()
        };
        let args = vec!["--follow".to_owned(), spec.to_string()];
        match run_scanner_args(&python, &program.cwd, &args) {
            Ok(out) => {
                source.facts = out.facts;
                source.problems = out.errors;
            }
            Err(why) => source.problems.push(why),
        }
        source
    }

    /// The source of a program srpc-check ran: what its Python process ran, when the kernel
    /// showed it ([`Source::for_program`]), else the files `command` names
    /// ([`Source::for_command`]: a program that ended before it could be read).
    #[cfg(unix)]
    pub fn for_run(
        program: Option<&crate::server::supervisor::Program>,
        command: &str,
        dir: &Path,
    ) -> Source {
        match program {
            Some(program) => Source::for_program(program, dir),
            None => Source::for_command(command, dir),
        }
    }

    /// [`Source::for_run`] on a thread of its own.
    #[cfg(unix)]
    pub fn for_run_in_background(
        program: Option<&crate::server::supervisor::Program>,
        command: &str,
        dir: &Path,
    ) -> Pending {
        let (program, command, dir) = (program.cloned(), command.to_owned(), dir.to_owned());
        in_background(move || Source::for_run(program.as_ref(), &command, &dir))
    }

    /// [`Source::for_command`] on a thread of its own, so reading the source (a Python start-up
    /// and a parse, a fifth of a second) overlaps the cases instead of adding to them.
    pub fn read_in_background(command: &str, dir: &Path) -> Pending {
        let (command, dir) = (command.to_owned(), dir.to_owned());
        in_background(move || Source::for_command(&command, &dir))
    }

    /// Runs the scan over `files` with `python`.
    pub fn scan(python: &str, dir: &Path, files: &[PathBuf]) -> Source {
        let mut source = Source {
            dir: dir.to_owned(),
            ..Source::default()
        };
        if files.is_empty() {
            source.problems.push("no Python files found".into());
            return source;
        }
        match run_scanner(python, dir, files) {
            Ok(out) => {
                source.facts = out.facts;
                source.problems = out.errors;
            }
            Err(why) => source.problems.push(why),
        }
        source
    }

    /// `file` as the student knows it: relative to their folder where it lies inside it.
    pub fn display(&self, file: &str) -> String {
        let path = Path::new(file);
        if let Ok(rel) = path.strip_prefix(&self.dir) {
            return rel.display().to_string();
        }
        if path.is_absolute() {
            if let Some(name) = path.file_name() {
                if self.dir.join(name).is_file() {
                    return name.to_string_lossy().into_owned();
                }
            }
        }
        file.to_owned()
    }

    /// The first line (file, line from 1) of the scanned files that contains `needle`, files in
    /// the order the scan found them.
    pub fn find_text(&self, needle: &str) -> Option<(String, u32)> {
        let mut files: Vec<&str> = Vec::new();
        for f in &self.facts {
            if !files.contains(&f.file.as_str()) {
                files.push(&f.file);
            }
        }
        files.into_iter().find_map(|file| {
            let path = self.dir.join(self.display(file));
            let f = std::fs::File::open(path).ok()?;
            let mut text = String::new();
            f.take(MAX_SOURCE).read_to_string(&mut text).ok()?;
            let n = text.lines().position(|l| l.contains(needle))?;
            Some((file.to_owned(), n as u32 + 1))
        })
    }

    /// The text of line `line` (from 1) of `file`, trimmed; None when it cannot be read.
    pub fn line_text(&self, file: &str, line: u32) -> Option<String> {
        let path = self.dir.join(self.display(file));
        let f = std::fs::File::open(path).ok()?;
        let mut text = String::new();
        f.take(MAX_SOURCE).read_to_string(&mut text).ok()?;
        let text = text.lines().nth(line.checked_sub(1)? as usize)?.trim();
        Some(text.chars().take(200).collect())
    }
}

/// A source being read on its own thread.
pub struct Pending(std::thread::JoinHandle<Source>);

/// Reads a source with `read` on a thread of its own.
fn in_background(read: impl FnOnce() -> Source + Send + 'static) -> Pending {
    Pending(std::thread::spawn(read))
}

impl Pending {
    /// The source, once read (empty, with the reason, if the reading thread failed).
    pub fn wait(self) -> Source {
        self.0.join().unwrap_or_else(|_| Source {
            problems: vec!["reading the source failed".into()],
            ..Source::default()
        })
    }
}

/// The `.py` files directly in `dir`, sorted, at most [`MAX_FILES`].
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "py") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.truncate(MAX_FILES);
    files
}

/// What a Python command line runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Script(String),
    Module(String),
    Code(String),
}

impl Entry {
    /// From an interpreter's argv: its options skipped (those that take a value with it),
    /// then `-m MODULE`, `-c CODE` or the script. None for an interactive interpreter or one
    /// reading its program from stdin.
    fn of(argv: &[String]) -> Option<Entry> {
        let mut args = argv.iter().skip(1);
        while let Some(arg) = args.next() {
            let Some(flags) = arg.strip_prefix('-') else {
                return Some(Entry::Script(arg.clone()));
            };
            if flags.is_empty() {
                return None; // `python3 -`: the program comes on stdin
            }
            if arg == "--" {
                return args.next().map(|a| Entry::Script(a.clone()));
            }
            if flags.starts_with('-') {
                // --check-hash-based-pycs MODE; other long options take no value.
                if flags == "-check-hash-based-pycs" {
                    args.next();
                }
                continue;
            }
            // Short flags may be joined (-uB); -c, -m, -W and -X take the rest, or the next word.
            for (i, flag) in flags.char_indices() {
                if matches!(flag, 'c' | 'm' | 'W' | 'X') {
                    let rest = &flags[i + 1..];
                    let value = if rest.is_empty() {
                        args.next()?.clone()
                    } else {
                        rest.to_owned()
                    };
                    match flag {
                        'c' => return Some(Entry::Code(value)),
                        'm' => return Some(Entry::Module(value)),
                        _ => break,
                    }
                }
            }
        }
        None
    }
}

fn run_scanner(python: &str, dir: &Path, files: &[PathBuf]) -> Result<ScanOutput, String> {
    let args: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    run_scanner_args(python, dir, &args)
}

fn run_scanner_args(python: &str, dir: &Path, args: &[String]) -> Result<ScanOutput, String> {
    let mut cmd = Command::new(python);
    cmd.arg("-I")
        .arg("-c")
        .arg(SCANNER)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // Registered with the supervisor: it runs beside the server under test, and must not be
    // taken for a process the server left behind (stopped, or reaped before it is waited for).
    #[cfg(unix)]
    let spawned = crate::server::supervisor::spawn_tracked(&mut cmd);
    #[cfg(not(unix))]
    let spawned = cmd.spawn();
    let mut child = spawned.map_err(|e| format!("cannot run {python} to read the source: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(SCAN_OUTPUT_LIMIT).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + SCAN_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    #[cfg(unix)]
    crate::server::supervisor::untrack(child.id());
    let out = reader.join().unwrap_or_default();
    match status {
        None => Err(format!(
            "reading the source took longer than {}s",
            SCAN_TIMEOUT.as_secs()
        )),
        Some(s) if !s.success() => Err(format!("reading the source failed ({s})")),
        Some(_) => serde_json::from_slice(&out)
            .map_err(|e| format!("the source reader's output was not understood: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(text: &str) -> Source {
        let dir = crate::test_dir("scan");
        std::fs::write(dir.join("server.py"), text).unwrap();
        let s = Source::for_command("python3 server.py SERVER", &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        s
    }

    fn lines(s: &Source, kind: &str) -> Vec<u32> {
        s.facts
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.line)
            .collect()
    }

    #[test]
    fn the_scan_finds_what_the_diagnoses_point_at() {
        let s = scan_text(
            "import json, struct\n\
             store = {}\n\
             def handle(conn):\n\
             \x20   data = {}\n\
             \x20   header = conn.recv(8)\n\
             \x20   v, n = struct.unpack('!II', header)\n\
             \x20   while len(b) < n:\n\
             \x20       b += conn.recv(n)\n\
             \x20   conn.send(json.dumps(json.dumps({'status': 'ok'})).encode())\n",
        );
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(lines(&s, "store_fresh"), [4]);
        assert_eq!(lines(&s, "recv"), [5, 8]);
        let recv: Vec<_> = s.facts.iter().filter(|f| f.kind == "recv").collect();
        assert_eq!(
            (recv[0].in_loop, recv[0].size, recv[1].in_loop),
            (Some(false), Some(8), Some(true))
        );
        let unpack = s.facts.iter().find(|f| f.kind == "struct").unwrap();
        assert_eq!(unpack.format.as_deref(), Some("!II"));
        assert_eq!(lines(&s, "dumps_twice"), [9]);
        assert_eq!(lines(&s, "status_literal"), [9]);
        assert_eq!(lines(&s, "send"), [9]);
    }

    #[test]
    fn a_command_that_is_not_python_is_not_scanned() {
        let dir = crate::test_dir("scan");
        std::fs::write(dir.join("unrelated.py"), "x = conn.recv(8)\n").unwrap();
        let s = Source::for_command("./target/release/server --port 4444", &dir);
        assert!(s.facts.is_empty(), "{:?}", s.facts);
        // `python3 -m`: the folder's files.
        let s = Source::for_command("python3 -m server", &dir);
        assert_eq!(s.facts.len(), 1, "{:?}", s.facts);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_python_command_line_names_its_script_module_or_code() {
        let of =
            |line: &str| Entry::of(&line.split(' ').map(String::from).collect::<Vec<String>>());
        let script = |s: &str| Some(Entry::Script(s.into()));
        assert_eq!(of("python3 srpc_lab.py SERVER"), script("srpc_lab.py"));
        assert_eq!(of("/usr/bin/python3.11 -u -B lab/s.py"), script("lab/s.py"));
        assert_eq!(of("python3 -uB -W ignore -X dev s.py -m x"), script("s.py"));
        assert_eq!(of("python3 -Wignore -- s.py"), script("s.py"));
        assert_eq!(
            of("python3 -u -m lab.server --port 4444"),
            Some(Entry::Module("lab.server".into()))
        );
        assert_eq!(
            of("python3 -mlab.server"),
            Some(Entry::Module("lab.server".into()))
        );
        assert_eq!(
            of("python3 -c import_x"),
            Some(Entry::Code("import_x".into()))
        );
        assert_eq!(of("python3"), None);
        assert_eq!(of("python3 -i"), None);
        assert_eq!(of("python3 - x.py"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_running_program_is_followed_through_its_local_imports_and_no_further() {
        let root = crate::test_dir("follow");
        let outside = crate::test_dir("follow-outside");
        let write = |dir: &Path, path: &str, text: &str| {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let recv = "def f(conn):\n    return conn.recv(8)\n";
        write(
            &root,
            "wrapper.py",
            &format!(
                "import sys, json, socket\nsys.path.append({:?})\nimport elsewhere\nfrom lab import server\nimport runpy\nrunpy.run_path(\"tools/run_me.py\")\n",
                outside.display().to_string()
            ),
        );
        write(&root, "lab/__init__.py", "");
        write(
            &root,
            "lab/server.py",
            &format!("from . import util\n{recv}"),
        );
        write(&root, "lab/util.py", recv);
        write(&root, "tools/run_me.py", recv);
        write(&root, "unused.py", recv);
        write(&outside, "elsewhere.py", recv);
        let program = |argv: &[&str]| crate::server::supervisor::Program {
            pid: 0,
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: root.clone(),
        };
        let files = |s: &Source| {
            let mut f: Vec<String> = s.facts.iter().map(|f| s.display(&f.file)).collect();
            f.sort();
            f.dedup();
            f
        };
        let s = Source::for_program(&program(&["python3", "-u", "wrapper.py"]), &root);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(
            files(&s),
            ["lab/server.py", "lab/util.py", "tools/run_me.py"],
            "imported, imported relatively, run; not the unused file, not one outside"
        );
        let s = Source::for_program(&program(&["python3", "-m", "lab.server"]), &root);
        assert_eq!(files(&s), ["lab/server.py", "lab/util.py"]);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn a_file_that_does_not_parse_is_a_problem_not_a_failure() {
        let s = scan_text("def broken(:\n");
        assert!(s.facts.is_empty());
        assert!(s.problems[0].contains("SyntaxError"), "{:?}", s.problems);
    }
}
