use super::*;
use bytes::Bytes;
use parley_sip::auth::client::{authorization, select_challenge, ClientRequest};
use parley_sip::header::AuthParams;
use parley_sip::Limits;
use parley_store::Ha1Set;

const NOW: u64 = 1_700_000_000;
const REALM: &str = "example.com";

fn auth() -> DigestAuth {
    DigestAuth::new(
        b"test secret",
        7,
        Duration::from_secs(300),
        &[Algorithm::Sha256, Algorithm::Md5],
    )
}

fn alice() -> User {
    let ha1 = Ha1s::compute("alice", REALM, "secret");
    User {
        address: Address::parse("alice@example.com").unwrap(),
        ha1: Ha1Set {
            realm: REALM.into(),
            md5: ha1.md5,
            sha256: ha1.sha256,
        },
    }
}

fn register(authorization: Option<&str>) -> Message {
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: <sip:alice@example.com>;tag=a\r\n\
         To: <sip:alice@example.com>\r\n\
         Call-ID: c1\r\n\
         CSeq: 1 REGISTER\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    );
    Message::parse(Bytes::from(text), &Limits::default()).unwrap()
}

/// The credentials a client computes for the challenge `values` (SHA-256 first, MD5 second).
fn answer(values: &[String], pick: usize, password: &str, nc: u32) -> String {
    let parsed: Vec<AuthParams<'_>> = values
        .iter()
        .map(|v| AuthParams::parse(v, "WWW-Authenticate").unwrap())
        .collect();
    let challenge = if pick == 0 {
        select_challenge(&parsed).unwrap()
    } else {
        &parsed[pick]
    };
    authorization(
        challenge,
        &ClientRequest {
            username: "alice",
            password,
            method: "REGISTER",
            uri: "sip:example.com",
            cnonce: "c0ffee",
            nc,
        },
    )
    .unwrap()
}

fn verdict(auth: &DigestAuth, creds: &str, user: Option<&User>, now: u64) -> Verdict {
    let request = register(Some(creds));
    assert_eq!(
        DigestAuth::claimed_user(&request, Challenger::Registrar, REALM),
        Some(alice().address)
    );
    auth.verify(&request, Challenger::Registrar, REALM, user, now)
}

#[test]
fn right_password_with_sha256_and_md5() {
    let auth = auth();
    let values = auth.challenge(REALM, NOW, false);
    assert!(values[0].contains("SHA-256") && values[1].contains("MD5"));
    for (pick, nc) in [(0, 1), (1, 2)] {
        // Both challenges carry the same nonce: each use counts up.
        let creds = answer(&values, pick, "secret", nc);
        assert_eq!(
            verdict(&auth, &creds, Some(&alice()), NOW),
            Verdict::Authenticated(alice().address)
        );
    }
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let auth = auth();
    let values = auth.challenge(REALM, NOW, false);
    let creds = answer(&values, 0, "wrong", 1);
    let refused = Verdict::Challenge { stale: false };
    assert_eq!(verdict(&auth, &creds, Some(&alice()), NOW), refused);
    let creds = answer(&values, 0, "secret", 1);
    assert_eq!(verdict(&auth, &creds, None, NOW), refused);
}

#[test]
fn replayed_and_expired_nonces_are_stale() {
    let auth = auth();
    let values = auth.challenge(REALM, NOW, false);
    let creds = answer(&values, 0, "secret", 1);
    assert!(matches!(
        verdict(&auth, &creds, Some(&alice()), NOW),
        Verdict::Authenticated(_)
    ));
    assert_eq!(
        verdict(&auth, &creds, Some(&alice()), NOW + 1),
        Verdict::Challenge { stale: true }
    );
    let next = answer(&values, 0, "secret", 2);
    assert!(matches!(
        verdict(&auth, &next, Some(&alice()), NOW + 1),
        Verdict::Authenticated(_)
    ));
    let late = answer(&values, 0, "secret", 3);
    assert_eq!(
        verdict(&auth, &late, Some(&alice()), NOW + 301),
        Verdict::Challenge { stale: true }
    );
}

#[test]
fn no_credentials_or_another_realm_is_challenged() {
    let auth = auth();
    let request = register(None);
    assert_eq!(
        DigestAuth::claimed_user(&request, Challenger::Registrar, REALM),
        None
    );
    assert_eq!(
        auth.verify(&request, Challenger::Registrar, REALM, Some(&alice()), NOW),
        Verdict::Challenge { stale: false }
    );
    let values = auth.challenge("other.example", NOW, false);
    let creds = answer(&values, 0, "secret", 1);
    let request = register(Some(&creds));
    assert_eq!(
        DigestAuth::claimed_user(&request, Challenger::Registrar, REALM),
        None
    );
    // Credentials in the other header do not count.
    let values = auth.challenge(REALM, NOW, false);
    let creds = answer(&values, 0, "secret", 1);
    let request = register(Some(&creds));
    assert_eq!(
        auth.verify(&request, Challenger::Proxy, REALM, Some(&alice()), NOW),
        Verdict::Challenge { stale: false }
    );
}

#[test]
fn the_offered_algorithms_and_their_order_are_configured() {
    let md5_only = DigestAuth::new(b"k", 1, Duration::from_secs(300), &[Algorithm::Md5]);
    let values = md5_only.challenge(REALM, NOW, false);
    assert_eq!(values.len(), 1);
    assert!(values[0].contains("algorithm=MD5"));
    // SHA-256 credentials for a nonce of this key are refused: SHA-256 is not offered.
    let both = auth().challenge(REALM, NOW, false);
    let nonce_of = |v: &str| {
        v.split("nonce=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned()
    };
    let sha_values = [both[0].replace(&nonce_of(&both[0]), &nonce_of(&values[0]))];
    let creds = answer(&sha_values, 0, "secret", 1);
    assert_eq!(
        verdict(&md5_only, &creds, Some(&alice()), NOW),
        Verdict::Challenge { stale: false }
    );
    let md5_first = DigestAuth::new(
        b"k",
        1,
        Duration::from_secs(300),
        &[Algorithm::Md5, Algorithm::Sha256],
    );
    let values = md5_first.challenge(REALM, NOW, false);
    assert!(values[0].contains("MD5") && values[1].contains("SHA-256"));
}

#[test]
fn who_the_proxy_challenges() {
    for m in [
        Method::Message,
        Method::Subscribe,
        Method::Publish,
        Method::Invite,
    ] {
        assert!(proxy_challenges(&m, true, false), "{m}");
        assert!(!proxy_challenges(&m, false, false), "{m} from elsewhere");
        assert!(!proxy_challenges(&m, true, true), "{m} in a dialog");
    }
    for m in [Method::Ack, Method::Cancel, Method::Bye, Method::Options] {
        assert!(!proxy_challenges(&m, true, false), "{m}");
    }
}

#[test]
fn our_proxy_credentials_are_not_forwarded() {
    let text = "MESSAGE sip:bob@example.com SIP/2.0\r\n\
                Via: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\
                From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\n\
                Call-ID: c\r\nCSeq: 1 MESSAGE\r\n\
                Proxy-Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"n\", uri=\"sip:bob@example.com\", response=\"00\"\r\n\
                Proxy-Authorization: Digest username=\"alice\", realm=\"other.example\", nonce=\"n\", uri=\"sip:bob@example.com\", response=\"00\"\r\n\
                Content-Length: 0\r\n\r\n";
    let mut m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
    strip_proxy_credentials(&mut m, REALM);
    let left = m.auth_params(&HeaderName::ProxyAuthorization).unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0]
        .params
        .iter()
        .any(|(n, v)| *n == "realm" && v.contains("other.example")));
}
