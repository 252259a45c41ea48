//! The client side of digest authentication (RFC 3261 §22.2–§22.3, RFC 8760 §2.4): choosing a
//! challenge and computing the `Authorization` / `Proxy-Authorization` value for it.

use super::digest::{ha1, request_digest, Algorithm, DigestInput, QopAuth};
use super::{param, quote};
use crate::header::AuthParams;

/// What the client knows when it answers a challenge.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// The method of the request being sent.
    pub method: &'a str,
    /// The Request-URI of the request being sent (becomes the `uri` parameter).
    pub uri: &'a str,
    /// A fresh client nonce (random, token characters).
    pub cnonce: &'a str,
    /// The nonce-count: 1 for the first request with this nonce, then 2, 3, …
    pub nc: u32,
}

/// Why a challenge cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("challenge scheme is not Digest")]
    NotDigest,
    #[error("challenge lacks `{0}`")]
    Missing(&'static str),
    #[error("challenge uses an unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("challenge offers no supported qop")]
    UnsupportedQop,
}

/// The topmost challenge this client can answer (RFC 8760 §2.4: "use the topmost header field
/// that it supports"); challenges it does not understand are skipped.
pub fn select_challenge<'c, 'a>(challenges: &'c [AuthParams<'a>]) -> Option<&'c AuthParams<'a>> {
    challenges.iter().find(|c| answerable(c).is_ok())
}

fn answerable(challenge: &AuthParams<'_>) -> Result<(Algorithm, bool), ClientError> {
    if !challenge.scheme.eq_ignore_ascii_case("Digest") {
        return Err(ClientError::NotDigest);
    }
    let algorithm = match param(challenge, "algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::parse(&a).ok_or(ClientError::UnsupportedAlgorithm)?,
    };
    // `qop` is a quoted, comma-separated list (RFC 7616 §3.3).
    let qop_auth = match param(challenge, "qop") {
        None => false,
        Some(list) => {
            if !list
                .split(',')
                .any(|q| q.trim().eq_ignore_ascii_case("auth"))
            {
                return Err(ClientError::UnsupportedQop);
            }
            true
        }
    };
    if !qop_auth && algorithm.is_session() {
        return Err(ClientError::UnsupportedQop);
    }
    Ok((algorithm, qop_auth))
}

/// The credentials value answering `challenge` (a `WWW-Authenticate` or `Proxy-Authenticate`
/// value): put it in `Authorization` after a 401, `Proxy-Authorization` after a 407
/// (RFC 3261 §22.2, §22.3). Uses `qop=auth` when offered, the RFC 2069 form otherwise.
pub fn authorization(
    challenge: &AuthParams<'_>,
    request: &ClientRequest<'_>,
) -> Result<String, ClientError> {
    let (algorithm, qop_auth) = answerable(challenge)?;
    let realm = param(challenge, "realm").ok_or(ClientError::Missing("realm"))?;
    let nonce = param(challenge, "nonce").ok_or(ClientError::Missing("nonce"))?;
    let opaque = param(challenge, "opaque");
    let nc = format!("{:08x}", request.nc);
    let input = DigestInput {
        algorithm,
        nonce: &nonce,
        method: request.method,
        uri: request.uri,
        qop_auth: qop_auth.then_some(QopAuth {
            nc: &nc,
            cnonce: request.cnonce,
        }),
    };
    let ha1 = ha1(algorithm, request.username, &realm, request.password);
    let response = request_digest(&ha1, &input);
    let mut v = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
        quote(request.username),
        quote(&realm),
        quote(&nonce),
        quote(request.uri),
        algorithm.as_str(),
    );
    if qop_auth {
        v.push_str(&format!(
            ", cnonce={}, qop=auth, nc={nc}",
            quote(request.cnonce)
        ));
    }
    if let Some(opaque) = opaque {
        v.push_str(", opaque=");
        v.push_str(&quote(&opaque));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> AuthParams<'_> {
        AuthParams::parse(s, "WWW-Authenticate").unwrap()
    }

    #[test]
    fn picks_topmost_supported() {
        let cs = [
            parse(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth""#),
            parse(r#"Basic realm="r""#),
            parse(r#"Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth""#),
            parse(r#"Digest realm="r", nonce="n", algorithm=MD5, qop="auth""#),
        ];
        assert_eq!(select_challenge(&cs), Some(&cs[2]));
        assert_eq!(select_challenge(&cs[..2]), None);
        assert!(answerable(&parse(r#"Digest realm="r", nonce="n", qop="auth-int""#)).is_err());
    }

    /// RFC 7616 §3.9.1: the MD5 Authorization header of the example, byte for byte where the
    /// parameter order allows.
    #[test]
    fn rfc7616_md5_authorization() {
        let c = parse(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
        );
        let v = authorization(
            &c,
            &ClientRequest {
                username: "Mufasa",
                password: "Circle of Life",
                method: "GET",
                uri: "/dir/index.html",
                cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                nc: 1,
            },
        )
        .unwrap();
        assert_eq!(
            v,
            r#"Digest username="Mufasa", realm="http-auth@example.org", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", uri="/dir/index.html", response="8ca523f5e9506fed4657c9700eebdbec", algorithm=MD5, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, nc=00000001, opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#
        );
    }

    #[test]
    fn rfc2069_form_without_qop() {
        let c = parse(r#"Digest realm="r", nonce="n""#);
        let req = ClientRequest {
            username: "u",
            password: "p",
            method: "REGISTER",
            uri: "sip:r",
            cnonce: "c",
            nc: 1,
        };
        let v = authorization(&c, &req).unwrap();
        assert!(!v.contains("qop") && !v.contains("cnonce") && v.contains("algorithm=MD5"));
        assert_eq!(
            authorization(&parse(r#"Digest nonce="n""#), &req),
            Err(ClientError::Missing("realm"))
        );
    }
}
