//! End-to-end checks of the server side against the client side, with fixed SIP vectors
//! (computed independently with Python's hashlib) and property tests.

use proptest::prelude::*;

use super::client::{authorization, select_challenge, ClientRequest};
use super::verify::RequestInfo;
use super::*;
use crate::header::AuthParams;
use crate::uri::Uri;

const REALM: &str = "biloxi.com";
const NOW: u64 = 1_700_000_000;

fn authenticator() -> Authenticator {
    Authenticator::new(NonceKey::new(b"0123456789abcdef0123456789abcdef", 42))
}

fn bob() -> Ha1s {
    Ha1s::compute("bob", REALM, "zanzibar")
}

/// Client answer to the challenge at index `which` (0 = SHA-256, 1 = MD5).
fn answer(challenges: &[String; 2], which: usize, password: &str, nc: u32, uri: &str) -> String {
    let c = AuthParams::parse(&challenges[which], "WWW-Authenticate").unwrap();
    authorization(
        &c,
        &ClientRequest {
            username: "bob",
            password,
            method: "REGISTER",
            uri,
            cnonce: "0a4f113b",
            nc,
        },
    )
    .unwrap()
}

fn check(a: &Authenticator, value: &str, uri: &str, now: u64, counts: &mut NonceCounts) -> Outcome {
    let params = AuthParams::parse(value, "Authorization").unwrap();
    let creds = match Credentials::parse(&params) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let request_uri = Uri::parse(uri).unwrap();
    let info = RequestInfo {
        method: "REGISTER",
        request_uri: &request_uri,
        realm: REALM,
    };
    let ha1s = bob();
    let user = (creds.username == "bob").then_some(&ha1s);
    a.verify(&creds, &info, user, now, counts)
}

fn ok(algorithm: Algorithm) -> Outcome {
    Outcome::Ok {
        username: "bob".into(),
        algorithm,
    }
}

#[test]
fn sip_register_vectors() {
    let ha1s = bob();
    assert_eq!(ha1s.md5, "12af60467a33e8518da5c68bbff12b11");
    assert_eq!(
        ha1s.sha256,
        "e65db393e748c5228939a6b4b2879e9ea5625cd79fd5267868cb568d69f6b97e"
    );
    let q = QopAuth {
        nc: "00000001",
        cnonce: "0a4f113b",
    };
    let mut input = DigestInput {
        algorithm: Algorithm::Md5,
        nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method: "REGISTER",
        uri: "sip:biloxi.com",
        qop_auth: Some(q),
    };
    let expect = |input: &DigestInput<'_>, hex: &str| {
        assert_eq!(
            request_digest(ha1s.for_algorithm(input.algorithm), input),
            hex
        )
    };
    expect(&input, "9e2d1006810044fd79f39476209ae31a");
    input.algorithm = Algorithm::Md5Sess;
    expect(&input, "d20652dbd76d31d860900c50052719f5");
    input.algorithm = Algorithm::Sha256;
    expect(
        &input,
        "93e0e23c30bf2e3b139a3410a7edc9a5b15b1cfd8fd557ca8ee303e4372339a1",
    );
    input.algorithm = Algorithm::Sha256Sess;
    expect(
        &input,
        "c7a3482824c9edb1f43c541a2b65b28ac79600c0718ae1c33ad53facdeb09577",
    );
    input.qop_auth = None;
    input.algorithm = Algorithm::Sha256;
    expect(
        &input,
        "10503915e86126c221a99ecec4bd61ed6a5f0c1bac8125b5df9db47ab06503c1",
    );
    input.algorithm = Algorithm::Md5;
    expect(&input, "4441045a8075db3ead543693997e2a0e");
}

#[test]
fn challenge_answer_verify_both_algorithms() {
    let a = authenticator();
    let mut counts = NonceCounts::new(16);
    let ch = a.challenge(REALM, NOW, false);
    for (i, alg) in [(0, Algorithm::Sha256), (1, Algorithm::Md5)] {
        let v = answer(
            &ch,
            i,
            "zanzibar",
            1 + u32::try_from(i).unwrap() * 10,
            "sip:biloxi.com",
        );
        assert_eq!(
            check(&a, &v, "sip:biloxi.com", NOW + 1, &mut counts),
            ok(alg)
        );
    }
    let parsed: Vec<_> = ch
        .iter()
        .map(|c| AuthParams::parse(c, "WWW-Authenticate").unwrap())
        .collect();
    assert_eq!(
        select_challenge(&parsed),
        Some(&parsed[0]),
        "SHA-256 is topmost"
    );
}

#[test]
fn wrong_password_realm_user_or_nonce() {
    let a = authenticator();
    let mut counts = NonceCounts::new(16);
    let ch = a.challenge(REALM, NOW, false);
    let v = answer(&ch, 0, "wrong", 1, "sip:biloxi.com");
    let invalid = |i| Outcome::Invalid(i);
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        invalid(Invalid::WrongResponse)
    );
    let other_user = v.replace("username=\"bob\"", "username=\"alice\"");
    assert_eq!(
        check(&a, &other_user, "sip:biloxi.com", NOW, &mut counts),
        invalid(Invalid::UnknownUser)
    );
    let other_realm = v.replace("realm=\"biloxi.com\"", "realm=\"atlanta.com\"");
    assert_eq!(
        check(&a, &other_realm, "sip:biloxi.com", NOW, &mut counts),
        invalid(Invalid::RealmMismatch)
    );
    // A nonce from another server secret.
    let foreign = Authenticator::new(NonceKey::new(b"other", 0)).challenge(REALM, NOW, false);
    let v = answer(&foreign, 0, "zanzibar", 1, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        invalid(Invalid::ForgedNonce)
    );
    let unknown = v.replace("algorithm=SHA-256", "algorithm=SHA-512-256");
    assert_eq!(
        check(&a, &unknown, "sip:biloxi.com", NOW, &mut counts),
        Outcome::UnknownAlgorithm
    );
    let auth_int = v.replace("qop=auth", "qop=auth-int");
    assert_eq!(
        check(&a, &auth_int, "sip:biloxi.com", NOW, &mut counts),
        invalid(Invalid::Malformed(CredentialsError::UnsupportedQop))
    );
}

#[test]
fn stale_after_lifetime_and_on_replay() {
    let a = authenticator();
    let mut counts = NonceCounts::new(16);
    let ch = a.challenge(REALM, NOW, false);
    let v1 = answer(&ch, 0, "zanzibar", 1, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v1, "sip:biloxi.com", NOW + 300, &mut counts),
        ok(Algorithm::Sha256)
    );
    assert_eq!(
        check(&a, &v1, "sip:biloxi.com", NOW + 300, &mut counts),
        Outcome::Stale(StaleReason::Replayed)
    );
    let v2 = answer(&ch, 0, "zanzibar", 2, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v2, "sip:biloxi.com", NOW + 300, &mut counts),
        ok(Algorithm::Sha256)
    );
    let v3 = answer(&ch, 0, "zanzibar", 3, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v3, "sip:biloxi.com", NOW + 301, &mut counts),
        Outcome::Stale(StaleReason::Expired)
    );
    // An expired nonce with a wrong password is not merely stale.
    let bad = answer(&ch, 0, "wrong", 4, "sip:biloxi.com");
    assert_eq!(
        check(&a, &bad, "sip:biloxi.com", NOW + 301, &mut counts),
        Outcome::Invalid(Invalid::WrongResponse)
    );
    let stale = a.challenge(REALM, NOW + 301, true);
    assert!(stale[0].ends_with(", stale=true") && stale[1].ends_with(", stale=true"));
}

#[test]
fn uri_parameter_is_checked_loosely() {
    let a = authenticator();
    let mut counts = NonceCounts::new(16);
    let ch = a.challenge(REALM, NOW, false);
    let v = answer(&ch, 0, "zanzibar", 1, "sip:biloxi.com;transport=tcp");
    assert_eq!(
        check(&a, &v, "sips:BILOXI.com:5061", NOW, &mut counts),
        ok(Algorithm::Sha256)
    );
    let v = answer(&ch, 0, "zanzibar", 2, "sip:carol@biloxi.com");
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        Outcome::Invalid(Invalid::UriMismatch)
    );
    let mut off = authenticator();
    off.uri_check = UriCheck::Off;
    assert_eq!(
        check(&off, &v, "sip:biloxi.com", NOW, &mut counts),
        ok(Algorithm::Sha256)
    );
}

#[test]
fn opaque_must_be_echoed() {
    let mut a = authenticator();
    a.opaque = Some("op\"aque".into());
    let mut counts = NonceCounts::new(16);
    let ch = a.challenge(REALM, NOW, false);
    let v = answer(&ch, 1, "zanzibar", 1, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        ok(Algorithm::Md5)
    );
    let stripped = &v[..v.find(", opaque").unwrap()];
    assert_eq!(
        check(&a, stripped, "sip:biloxi.com", NOW, &mut counts),
        Outcome::Invalid(Invalid::OpaqueMismatch)
    );
}

#[test]
fn rfc2069_clients() {
    let a = authenticator();
    let mut counts = NonceCounts::new(16);
    let nonce = NonceKey::new(b"0123456789abcdef0123456789abcdef", 0).issue(REALM, NOW);
    let md5 = format!(r#"Digest realm="{REALM}", nonce="{nonce}", algorithm=MD5"#);
    let sha = format!(r#"Digest realm="{REALM}", nonce="{nonce}", algorithm=SHA-256"#);
    let v = answer(
        &[sha.clone(), md5.clone()],
        1,
        "zanzibar",
        1,
        "sip:biloxi.com",
    );
    assert!(!v.contains("qop"));
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        ok(Algorithm::Md5)
    );
    let v = answer(&[sha, md5], 0, "zanzibar", 1, "sip:biloxi.com");
    assert_eq!(
        check(&a, &v, "sip:biloxi.com", NOW, &mut counts),
        Outcome::Invalid(Invalid::QopRequired),
        "SHA-256 needs qop"
    );
    let mut strict = authenticator();
    strict.allow_rfc2069 = false;
    let v = answer(
        &[
            String::new(),
            format!(r#"Digest realm="{REALM}", nonce="{nonce}""#),
        ],
        1,
        "zanzibar",
        1,
        "sip:biloxi.com",
    );
    assert_eq!(
        check(&strict, &v, "sip:biloxi.com", NOW, &mut counts),
        Outcome::Invalid(Invalid::QopRequired)
    );
}

#[test]
fn credentials_parse_errors() {
    let parse = |s| Credentials::parse(&AuthParams::parse(s, "Authorization").unwrap());
    assert_eq!(
        parse(r#"Basic realm="r""#),
        Err(CredentialsError::NotDigest)
    );
    assert_eq!(
        parse(r#"Digest realm="r", nonce="n", uri="sip:r", response="x""#),
        Err(CredentialsError::Missing("username"))
    );
    assert_eq!(
        parse(
            r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x", qop=auth, nc=1234567890, cnonce="c""#
        ),
        Err(CredentialsError::BadNonceCount)
    );
    assert_eq!(
        parse(
            r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x", qop=auth, nc=00000001"#
        ),
        Err(CredentialsError::Missing("cnonce"))
    );
    assert_eq!(
        parse(
            r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="x", algorithm=MD5-sess"#
        ),
        Err(CredentialsError::Missing("qop"))
    );
    let c = parse(r#"Digest username="a\"b", realm="r", nonce="n", uri="sip:r", response="ABC", qop="auth", nc=0000000a, cnonce="c""#).unwrap();
    assert_eq!(c.username, "a\"b");
    assert_eq!(c.response, "abc");
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.qop.unwrap().nc_value, 10);
}

proptest! {
    /// A response computed by the client verifies; any single-byte change to the scheme or a
    /// parameter value does not (XOR 1 never only flips the case of a case-insensitive token).
    #[test]
    fn client_answer_verifies_and_tampering_does_not(
        user in "[ -~]{1,12}",
        password in "[ -~]{0,12}",
        cnonce in "[a-zA-Z0-9+/=]{1,16}",
        nc in 1u32..1000,
        which in 0usize..2,
        sess in any::<bool>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let a = authenticator();
        let ch = a.challenge(REALM, NOW, false);
        let ch = if sess { ch.map(|c| c.replace("algorithm=SHA-256", "algorithm=SHA-256-sess")
            .replace("algorithm=MD5", "algorithm=MD5-sess")) } else { ch };
        let c = AuthParams::parse(&ch[which], "WWW-Authenticate").unwrap();
        let uri = "sip:biloxi.com";
        let v = authorization(&c, &ClientRequest {
            username: &user, password: &password, method: "MESSAGE", uri, cnonce: &cnonce, nc,
        }).unwrap();
        let ha1s = Ha1s::compute(&user, REALM, &password);
        let request_uri = Uri::parse(uri).unwrap();
        let info = RequestInfo { method: "MESSAGE", request_uri: &request_uri, realm: REALM };
        let run = |v: &str, counts: &mut NonceCounts| -> Option<Outcome> {
            let params = AuthParams::parse(v, "Authorization").ok()?;
            let creds = match Credentials::parse(&params) {
                Ok(c) => c,
                Err(e) => return Some(e.into()),
            };
            let found = (creds.username == user).then_some(&ha1s);
            Some(a.verify(&creds, &info, found, NOW + 10, counts))
        };
        let is_ok = |o: &Option<Outcome>| matches!(o, Some(Outcome::Ok { .. }));
        prop_assert!(is_ok(&run(&v, &mut NonceCounts::new(4))), "{v}");
        // Flip one byte of the scheme or of a parameter value (renaming an optional
        // parameter like `algorithm=MD5` only brings back its default).
        let params = AuthParams::parse(&v, "Authorization").unwrap();
        let base = v.as_ptr() as usize;
        let mut positions: Vec<usize> = (0..params.scheme.len()).collect();
        for (_, raw) in &params.params {
            let start = raw.as_ptr() as usize - base;
            positions.extend(start..start + raw.len());
        }
        let mut bytes = v.clone().into_bytes();
        bytes[positions[flip.index(positions.len())]] ^= 1;
        if let Ok(tampered) = String::from_utf8(bytes) {
            let out = run(&tampered, &mut NonceCounts::new(4));
            prop_assert!(!is_ok(&out), "{tampered} -> {out:?}");
        }
    }

    /// Credentials parsing never panics on arbitrary parameter values.
    #[test]
    fn credentials_parse_total(s in "[ -~]{0,200}") {
        if let Ok(p) = AuthParams::parse(&s, "Authorization") {
            let _ = Credentials::parse(&p);
        }
    }
}
