//! An administrator adds, lists, re-passwords and removes users:
//! `parley user add alice@example.test --password secret` prints "added alice@example.test",
//! `parley user list` prints one address per line. Mistakes (an existing user, a bad
//! address, an empty or missing password, an unknown user) print one line starting
//! "parley: error:", exit 1, and change nothing. The data directory also comes from a
//! server config file (`--config`), and the password from PARLEY_PASSWORD.

use crate::{parley, run, user};

#[test]
fn add_list_passwd_remove() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    assert_eq!(
        user(
            &data,
            &["add", "alice@example.test", "--password", "secret"]
        ),
        (0, "added alice@example.test\n".into(), String::new())
    );
    let (code, out, _) = run(parley(&[
        "user",
        "add",
        "bob@Example.test",
        "--data",
        data.to_str().unwrap(),
    ])
    .env("PARLEY_PASSWORD", "hunter2"));
    assert_eq!((code, out.as_str()), (0, "added bob@example.test\n"));
    assert_eq!(
        user(&data, &["list"]),
        (
            0,
            "alice@example.test\nbob@example.test\n".into(),
            String::new()
        )
    );

    let (code, out, _) = user(
        &data,
        &["passwd", "alice@example.test", "--password", "new"],
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "changed the password of alice@example.test\n")
    );

    let (code, out, _) = user(&data, &["remove", "bob@example.test"]);
    assert_eq!((code, out.as_str()), (0, "removed bob@example.test\n"));
    assert_eq!(user(&data, &["list"]).1, "alice@example.test\n");

    // No password in the database file.
    let db = std::fs::read(data.join("parley.sqlite3")).unwrap();
    for password in ["secret", "new", "hunter2"] {
        assert!(!db.windows(password.len()).any(|w| w == password.as_bytes()));
    }
}

#[test]
fn mistakes_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    user(
        &data,
        &["add", "alice@example.test", "--password", "secret"],
    );
    let before = std::fs::read(data.join("parley.sqlite3")).unwrap();

    for (args, message) in [
        (
            &["add", "alice@example.test", "--password", "other"][..],
            "parley: error: user alice@example.test already exists\n",
        ),
        (
            &["add", "alice", "--password", "x"][..],
            "parley: error: bad address \"alice\": address must be user@domain\n",
        ),
        (
            &["add", "carol@example.test", "--password", ""][..],
            "parley: error: the password is empty\n",
        ),
        (
            &["add", "carol@example.test"][..],
            "parley: error: no password: give --password or set PARLEY_PASSWORD\n",
        ),
        (
            &["passwd", "nobody@example.test", "--password", "x"][..],
            "parley: error: user nobody@example.test does not exist\n",
        ),
        (
            &["remove", "nobody@example.test"][..],
            "parley: error: user nobody@example.test does not exist\n",
        ),
    ] {
        assert_eq!(
            user(&data, args),
            (1, String::new(), message.to_owned()),
            "{args:?}"
        );
    }
    assert_eq!(user(&data, &["list"]).1, "alice@example.test\n");
    // Same users, same hashes: the refused commands wrote nothing that a reader would see.
    let after = std::fs::read(data.join("parley.sqlite3")).unwrap();
    assert_eq!(before.len(), after.len());
}

#[test]
fn an_empty_data_directory_has_no_users_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never");
    assert_eq!(user(&data, &["list"]), (0, String::new(), String::new()));
    assert_eq!(user(&data, &["remove", "a@example.test"]).0, 1);
    assert!(!data.exists());
}

#[test]
fn the_data_directory_from_the_server_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-config");
    let config = dir.path().join("parley.toml");
    std::fs::write(&config, format!("data = {:?}\n", data.to_str().unwrap())).unwrap();
    let config = config.to_str().unwrap();
    let (code, _, err) = run(&mut parley(&[
        "user",
        "add",
        "dave@example.test",
        "--password",
        "pw",
        "--config",
        config,
    ]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(data.join("parley.sqlite3").exists());
    let (code, out, _) = run(&mut parley(&["user", "list", "--config", config]));
    assert_eq!((code, out.as_str()), (0, "dave@example.test\n"));
    // A config file with a typo is refused, naming the file.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "dta = \"x\"\n").unwrap();
    let (code, _, err) = run(&mut parley(&[
        "user",
        "list",
        "--config",
        bad.to_str().unwrap(),
    ]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("parley: error: ") && err.contains("bad.toml"),
        "{err}"
    );
}
