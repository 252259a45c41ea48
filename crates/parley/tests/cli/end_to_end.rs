//! The CLI as a user drives it, through a real server (in this test's process): users made
//! with `parley user add`; Bob runs `parley message listen`, which prints "registered …" on
//! stderr and then one line per message on stdout, flushed at once; Alice runs
//! `parley message send --to bob@example.test "…"` and sees "delivered to bob@example.test
//! (200 OK)"; Bob's line shows her address and the UTF-8 text. Then the same over TCP, with
//! the text from standard input. `parley register --once` with a wrong password exits 1
//! saying "wrong password"; Bob's listener, interrupted, unregisters and exits 0.

use crate::{lines, parley, run, user, wait_for, WAIT};
use parley_server::{Server, ServerConfig};
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

const DOMAIN: &str = "example.test";

fn interrupt(child: &mut Child) -> i32 {
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(std::time::Instant::now() < deadline, "the listener exits");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn listen_and_send_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (account, password) in [
        ("alice@example.test", "wonderland"),
        ("bob@example.test", "builder"),
    ] {
        assert_eq!(user(&data, &["add", account, "--password", password]).0, 0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = ServerConfig {
        domains: vec![DOMAIN.to_owned()],
        sip: vec!["127.0.0.1:0".parse().unwrap()],
        http: "127.0.0.1:0".parse().unwrap(),
        data_dir: data,
        ..ServerConfig::default()
    };
    let server = runtime.block_on(Server::bind(config)).unwrap();
    let address = server.addrs().sip[0].1.to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server.run(async {
        let _ = stopped.await;
    }));

    for transport in ["udp", "tcp"] {
        let common = ["--server", address.as_str(), "--transport", transport];
        let mut listener = parley(&[
            "message",
            "listen",
            "--account",
            "bob@example.test",
            "--password",
            "builder",
        ])
        .args(common)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        let out = lines(listener.stdout.take().unwrap());
        let err = lines(listener.stderr.take().unwrap());
        let registered = wait_for(&err, "registered bob@example.test");
        assert!(
            registered.contains(&format!("via {} {address}", transport.to_uppercase())),
            "{registered}"
        );

        let text = format!("Grüße aus der Kommandozeile ✓ ({transport})");
        let mut send = parley(&[
            "message",
            "send",
            "--account",
            "alice@example.test",
            "--password",
            "wonderland",
            "--to",
            "bob@example.test",
        ]);
        send.args(common);
        let (code, stdout, stderr) = if transport == "udp" {
            run(send.arg(&text))
        } else {
            // From standard input, with the newline `echo` would add.
            let mut child = send
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
            let output = child.wait_with_output().unwrap();
            (
                output.status.code().unwrap_or(-1),
                String::from_utf8(output.stdout).unwrap(),
                String::from_utf8(output.stderr).unwrap(),
            )
        };
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (0, "delivered to bob@example.test (200 OK)\n", "")
        );
        let line = wait_for(&out, "alice@example.test");
        assert!(
            line.ends_with(&format!(" alice@example.test: {text}")),
            "{line}"
        );

        assert_eq!(interrupt(&mut listener), 0);
        wait_for(&err, "unregistered bob@example.test");
    }

    let (code, _, stderr) = run(&mut parley(&[
        "register",
        "--once",
        "--account",
        "alice@example.test",
        "--password",
        "wrong",
        "--server",
        &address,
    ]));
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "parley: error: wrong password for alice@example.test (or no such account): the server refused the credentials\n"
    );

    let _ = stop.send(());
    runtime.block_on(serving).unwrap().unwrap();
}
