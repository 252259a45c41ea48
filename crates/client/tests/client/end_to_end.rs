//! Alice and Bob each sign in with their password at a real Parley server running in the
//! test (`parley_server::Server`, users created in its SQLite store as `parley user add`
//! does), then message each other in UTF-8 both ways, over UDP and then over TCP. Each sees
//! the other's address as sender and the text unchanged. A wrong password is refused with
//! "wrong password", and a message to a user who does not exist with "no such user".

use crate::harness::fast_timers;
use parley_client::{Aor, ClientError, IncomingMessage, UserAgent, UserAgentConfig};
use parley_net::resolve::ServerTarget;
use parley_server::{Server, ServerConfig};
use parley_sip::auth::Ha1s;
use parley_sip::Transport;
use parley_store::{Address, Ha1Set, SqliteStore, User, UserStore};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

const DOMAIN: &str = "example.test";
const WAIT: Duration = Duration::from_secs(10);

/// What `parley user add` stores: the HA1s of user part and domain, never the password.
fn add_users(data: &Path, users: &[(&str, &str)]) {
    let store = SqliteStore::open(data).unwrap();
    for (user, password) in users {
        let Ha1s { md5, sha256 } = Ha1s::compute(user, DOMAIN, password);
        store
            .add_user(&User {
                address: Address::parse(&format!("{user}@{DOMAIN}")).unwrap(),
                ha1: Ha1Set {
                    realm: DOMAIN.to_owned(),
                    md5,
                    sha256,
                },
            })
            .unwrap();
    }
}

struct Running {
    udp: SocketAddr,
    tcp: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start_server() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_users(&data, &[("alice", "wonderland"), ("bob", "builder")]);
    let mut config = ServerConfig {
        domains: vec![DOMAIN.to_owned()],
        sip: vec!["127.0.0.1:0".parse().unwrap()],
        http: "127.0.0.1:0".parse().unwrap(),
        data_dir: data,
        ..ServerConfig::default()
    };
    config.timers = fast_timers();
    let server = Server::bind(config).await.unwrap();
    let addrs = server.addrs().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        udp: addrs.first(Transport::Udp).unwrap(),
        tcp: addrs.first(Transport::Tcp).unwrap(),
        stop,
        task,
        _dir: dir,
    }
}

async fn sign_in(
    account: &str,
    password: &str,
    server: ServerTarget,
) -> (UserAgent, mpsc::Receiver<IncomingMessage>) {
    let mut config = UserAgentConfig::new(Aor::parse(account).unwrap(), password, vec![server]);
    config.timers = fast_timers();
    config.response_timeout = WAIT;
    let ua = UserAgent::start(config).await.unwrap();
    let incoming = ua.take_incoming().unwrap();
    let registration = ua.register(300).await.unwrap();
    assert!(registration.expires > 0 && registration.expires <= 300);
    (ua, incoming)
}

async fn next(incoming: &mut mpsc::Receiver<IncomingMessage>) -> IncomingMessage {
    tokio::time::timeout(WAIT, incoming.recv())
        .await
        .expect("a message arrives")
        .expect("the agent runs")
}

#[tokio::test]
async fn two_agents_exchange_messages_over_udp_and_tcp() {
    let server = start_server().await;
    for (transport, addr) in [(Transport::Udp, server.udp), (Transport::Tcp, server.tcp)] {
        let target = ServerTarget { transport, addr };
        let (alice, mut alice_in) = sign_in("alice@example.test", "wonderland", target).await;
        let (bob, mut bob_in) = sign_in("bob@example.test", "builder", target).await;

        let hello = format!("Grüße, Bob! 👋 über {transport}");
        let to_bob = Aor::parse("bob@example.test").unwrap();
        let delivery = alice
            .send_message(&to_bob, "text/plain;charset=UTF-8", hello.clone())
            .await
            .unwrap();
        assert_eq!(delivery.code, 200, "{transport}: {delivery:?}");
        let got = next(&mut bob_in).await;
        assert_eq!(got.from, "alice@example.test");
        assert_eq!(got.body, hello.as_bytes());

        let reply = format!("Salut Alice — ça marche ✓ ({transport})");
        let to_alice = Aor::parse("alice@example.test").unwrap();
        let delivery = bob
            .send_message(&to_alice, "text/plain;charset=UTF-8", reply.clone())
            .await
            .unwrap();
        assert_eq!(delivery.code, 200);
        let got = next(&mut alice_in).await;
        assert_eq!(got.from, "bob@example.test");
        assert_eq!(got.body, reply.as_bytes());

        let nobody = Aor::parse("nobody@example.test").unwrap();
        let error = alice
            .send_message(&nobody, "text/plain", "?")
            .await
            .unwrap_err();
        assert!(
            matches!(error, ClientError::UserUnknown { .. }),
            "{error:?}"
        );

        for ua in [alice, bob] {
            ua.unregister().await.unwrap();
            ua.shutdown().await;
        }
    }

    let mut config = UserAgentConfig::new(
        Aor::parse("alice@example.test").unwrap(),
        "not-wonderland",
        vec![ServerTarget {
            transport: Transport::Udp,
            addr: server.udp,
        }],
    );
    config.timers = fast_timers();
    let mallory = UserAgent::start(config).await.unwrap();
    let error = mallory.register(300).await.unwrap_err();
    assert!(
        matches!(error, ClientError::WrongPassword { .. }),
        "{error:?}"
    );

    let _ = server.stop.send(());
    tokio::time::timeout(WAIT, server.task)
        .await
        .unwrap()
        .unwrap();
}
