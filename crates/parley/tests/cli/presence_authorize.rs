//! Alice answers a watcher from the command line, under the `confirm` policy. Bob subscribes
//! to her presence and waits (pending). `parley presence watchers` shows Bob pending with a
//! hint how to answer; `parley presence authorize bob@example.test --http URL` prints the
//! decision, and Bob's subscription becomes active (her watcher list then shows him
//! `approved`). `--polite-block` and `--forget` work the same way; a wrong password exits 1
//! with "wrong password", and a watcher that is not an address is refused before anything
//! is sent.

use crate::{lines, parley, run, user, wait_for};
use parley_server::presence::SubscriptionPolicy;
use parley_server::{Server, ServerConfig};
use parley_store::presence::WatcherDecision;
use parley_store::Address;
use std::process::Stdio;

#[test]
fn alice_answers_bob_from_the_command_line() {
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
    let mut config = ServerConfig {
        domains: vec!["example.test".to_owned()],
        sip: vec!["127.0.0.1:0".parse().unwrap()],
        http: "127.0.0.1:0".parse().unwrap(),
        data_dir: data,
        ..ServerConfig::default()
    };
    config.presence.policy = SubscriptionPolicy::Confirm;
    let server = runtime.block_on(Server::bind(config)).unwrap();
    let sip = server.addrs().sip[0].1.to_string();
    let http = format!("http://{}", server.addrs().http);
    let store = server.store();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server.run(async {
        let _ = stopped.await;
    }));
    let alice = [
        "--account",
        "alice@example.test",
        "--password",
        "wonderland",
        "--server",
        sip.as_str(),
    ];

    let mut watchers = parley(&["presence", "watchers"])
        .args(alice)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let shown = lines(watchers.stdout.take().unwrap());
    let mut watch = parley(&[
        "presence",
        "watch",
        "alice@example.test",
        "--account",
        "bob@example.test",
        "--password",
        "builder",
        "--server",
        &sip,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();

    let pending = wait_for(&shown, "sip:bob@example.test pending");
    assert!(pending.contains("(subscribe)"), "{pending}");
    let hint = wait_for(&shown, "waits for your answer");
    assert!(
        hint.contains("parley presence authorize bob@example.test"),
        "{hint}"
    );

    let (code, stdout, stderr) = run(parley(&["presence", "authorize", "bob@example.test"])
        .args(alice)
        .args(["--http", &http]));
    assert_eq!(
        (code, stdout.as_str(), stderr.as_str()),
        (0, "bob@example.test: allow\n", "")
    );
    let approved = wait_for(&shown, "sip:bob@example.test active");
    assert!(approved.contains("(approved)"), "{approved}");
    let alice_aor = Address::parse("alice@example.test").unwrap();
    let bob_aor = Address::parse("bob@example.test").unwrap();
    assert_eq!(
        store.authorization(&alice_aor, &bob_aor).unwrap(),
        Some(WatcherDecision::Allow)
    );

    let (code, stdout, _) = run(parley(&[
        "presence",
        "authorize",
        "bob@example.test",
        "--polite-block",
    ])
    .args(alice)
    .args(["--http", &http]));
    assert_eq!(
        (code, stdout.as_str()),
        (0, "bob@example.test: polite-block\n")
    );
    assert_eq!(
        store.authorization(&alice_aor, &bob_aor).unwrap(),
        Some(WatcherDecision::PoliteBlock)
    );
    let (code, stdout, _) = run(
        parley(&["presence", "authorize", "bob@example.test", "--forget"])
            .args(alice)
            .args(["--http", &http]),
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "bob@example.test: decision forgotten\n")
    );
    assert_eq!(store.authorization(&alice_aor, &bob_aor).unwrap(), None);

    let (code, _, stderr) = run(&mut parley(&[
        "presence",
        "authorize",
        "bob@example.test",
        "--account",
        "alice@example.test",
        "--password",
        "wrong",
        "--server",
        &sip,
        "--http",
        &http,
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("wrong password for alice@example.test"),
        "{stderr}"
    );
    let (code, _, stderr) = run(parley(&["presence", "authorize", "not an address"])
        .args(alice)
        .args(["--http", &http]));
    assert_eq!(code, 1);
    assert!(stderr.starts_with("parley: error:"), "{stderr}");
    let (code, _, stderr) = run(parley(&[
        "presence",
        "authorize",
        "bob@example.test",
        "--block",
        "--forget",
    ])
    .args(alice));
    assert_eq!(code, 2, "{stderr}");

    let _ = watch.kill();
    let _ = watchers.kill();
    let _ = watch.wait();
    let _ = watchers.wait();
    let _ = stop.send(());
    runtime.block_on(serving).unwrap().unwrap();
}
