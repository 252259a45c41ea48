//! The client commands fail with one line saying what happened, and exit 1: no account, a
//! bad account, a server that is not there ("server unreachable: … connection refused", at
//! once, over UDP and TCP).

use crate::{parley, run};

#[test]
fn missing_and_bad_accounts() {
    let (code, out, err) = run(&mut parley(&[
        "message",
        "send",
        "--to",
        "bob@example.test",
        "hi",
    ]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "parley: error: no account: give --account USER@DOMAIN, set PARLEY_ACCOUNT, or use --client-config\n"
    );
    let (code, _, err) = run(&mut parley(&[
        "register",
        "--once",
        "--account",
        "alice@example.test",
    ]));
    assert_eq!(code, 1);
    assert!(err.starts_with("parley: error: no password"), "{err}");
    let (code, _, err) =
        run(parley(&["register", "--once", "--account", "alice"]).env("PARLEY_PASSWORD", "x"));
    assert_eq!(code, 1);
    assert!(err.contains("\"alice\" is not a SIP address"), "{err}");
}

#[test]
fn nobody_listening() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let server = format!("127.0.0.1:{port}");
    for transport in ["udp", "tcp"] {
        let started = std::time::Instant::now();
        let (code, out, err) = run(&mut parley(&[
            "message",
            "send",
            "--account",
            "alice@example.test",
            "--password",
            "secret",
            "--server",
            &server,
            "--transport",
            transport,
            "--to",
            "bob@example.test",
            "hello",
        ]));
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert_eq!(
            err,
            format!(
                "parley: error: server unreachable: {} {server}: connection refused\n",
                transport.to_uppercase()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
