//! Registering goes wrong, and the user is told why: a wrong password ("wrong password for
//! alice@example.test"), after exactly one answered challenge; an account the server does
//! not know looks the same (servers do not reveal their users); a registrar that forbids
//! (403) or does not know the user (404) is reported as such.

use crate::fake_server::{Behavior, FakeServer};
use crate::harness::agent;
use parley_client::ClientError;

#[tokio::test]
async fn wrong_password() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("alice@example.test", "not-her-password", server.addr).await;
    let error = ua.register(60).await.unwrap_err();
    assert!(
        matches!(error, ClientError::WrongPassword { .. }),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("wrong password for alice@example.test"));
    assert_eq!(
        server.received().len(),
        2,
        "one challenge answered, then give up"
    );
    assert!(server.binding("alice").is_none());
}

#[tokio::test]
async fn unknown_account() {
    let server = FakeServer::start(Behavior::default()).await;
    let ua = agent("mallory@example.test", "x", server.addr).await;
    let error = ua.register(60).await.unwrap_err();
    assert!(
        matches!(error, ClientError::WrongPassword { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn forbidden_and_not_found() {
    for (status, check) in [
        (
            403,
            (|e: &ClientError| matches!(e, ClientError::Forbidden { .. }))
                as fn(&ClientError) -> bool,
        ),
        (404, |e| matches!(e, ClientError::UserUnknown { .. })),
        (500, |e| {
            matches!(e, ClientError::Rejected { code: 500, .. })
        }),
    ] {
        let server = FakeServer::start(Behavior {
            register_status: Some(status),
            ..Behavior::default()
        })
        .await;
        let ua = agent("alice@example.test", "secret", server.addr).await;
        let error = ua.register(60).await.unwrap_err();
        assert!(check(&error), "{status}: {error:?}");
    }
}
