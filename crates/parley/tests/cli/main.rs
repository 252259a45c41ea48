//! The `parley` binary as scripts use it: the user administration commands against a
//! temporary data directory, and the client commands' errors. Each file is one scenario.

// A failing unwrap is how a test helper reports a broken test environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client_errors;
mod end_to_end;
mod presence_authorize;
mod user_admin;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a test waits for a line of a child's output.
pub const WAIT: Duration = Duration::from_secs(15);

/// `parley` with `args`, with no PARLEY_* variables from the caller's environment.
pub fn parley(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.args(args)
        .env_remove("PARLEY_ACCOUNT")
        .env_remove("PARLEY_PASSWORD")
        .stdin(Stdio::null());
    cmd
}

/// Runs `parley` and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// `parley user …` on the data directory `data`.
pub fn user(data: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["user"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data", data.to_str().unwrap()]);
    run(&mut parley(&all))
}

/// A child's output lines, read on a thread so that the test can wait with a deadline.
pub fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line of `rx` containing `what`, skipping the others.
pub fn wait_for(rx: &mpsc::Receiver<String>, what: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no line with {what:?}"));
        if line.contains(what) {
            return line;
        }
    }
}
