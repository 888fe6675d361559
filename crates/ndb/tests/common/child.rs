//! Tests that run a part of themselves in a child process (to kill it, or to hold a lock in
//! another process): the test binary runs itself with one test selected, and that test acts
//! when its environment says so. The child reports to the parent in lines it says.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{ChildStderr, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

/// Starts every line a child says: the test harness writes its own text to the same stdout
/// ("test crash_child ... " without a newline, before the test runs).
const MARK: &str = "@ndb@ ";

/// In the child: tell the parent `line`. Straight to the file descriptor (not through the test
/// harness's capture); a line this short is one atomic `write` to the pipe. If the parent is
/// gone, the child exits (status 3).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(format!("{MARK}{line}\n").as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(3);
    }
}

/// This test binary running only the test `test`, with no stdin, stdout and stderr piped, and
/// no backtraces; the caller adds the environment that makes the test act.
pub fn child_test(test: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// The lines the child said (see [`say`]), without the mark, until its stdout ends or a line is
/// cut short (by a kill).
pub fn said(stdout: ChildStdout) -> impl Iterator<Item = String> {
    let mut r = BufReader::new(stdout);
    let mut line = String::new();
    std::iter::from_fn(move || loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) if !line.ends_with('\n') => return None,
            Ok(_) => {
                if let Some(at) = line.find(MARK) {
                    return Some(line[at + MARK.len()..].trim_end().to_string());
                }
            }
        }
    })
}

/// All of the child's stderr, read on a thread of its own.
pub fn read_stderr(mut stderr: ChildStderr) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    })
}
