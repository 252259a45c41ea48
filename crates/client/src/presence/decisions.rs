//! The presentity's answers to its watchers (issue 4, `confirm` policy), over the Parley
//! server's HTTP API: `PUT`/`DELETE /api/v1/presence/watchers/{watcher}` and
//! `GET /api/v1/presence/watchers`, authenticated with HTTP Digest (RFC 7616) using the SIP
//! account's credentials (the same HA1, realm = the domain).
//!
//! One HTTP/1.1 request per connection (`Connection: close`), plain HTTP only: the API is
//! meant for a server reached on a trusted network or through a TLS-terminating proxy.

use crate::account::Aor;
use parley_sip::auth::{authorization, select_challenge, ClientRequest};
use parley_sip::header::AuthParams;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest answer read.
const MAX_RESPONSE: u64 = 1 << 20;

/// What the presentity decides about a watcher (RFC 5025 §3.2.1 `sub-handling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The watcher sees our presence.
    Allow,
    /// The watcher's subscriptions are refused.
    Block,
    /// The watcher is accepted but sees us `closed`.
    PoliteBlock,
}

impl Decision {
    /// The body of the `PUT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Block => "block",
            Decision::PoliteBlock => "polite-block",
        }
    }
}

/// Why a request to the API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("bad HTTP base URL {0:?}: use http://HOST[:PORT]")]
    BadBase(String),
    #[error("cannot reach {base}: {source}")]
    Connect {
        base: String,
        source: std::io::Error,
    },
    #[error("no answer from {0} in time")]
    Timeout(String),
    #[error("unusable answer from the server: {0}")]
    BadResponse(String),
    #[error("wrong password for {0} (or no such account): the server refused the credentials")]
    WrongPassword(String),
    /// A final answer other than success, with the server's reason.
    #[error("the server answered {status}: {reason}")]
    Refused { status: u16, reason: String },
}

/// The HTTP API of the presence server, as one account.
#[derive(Debug, Clone)]
pub struct WatcherApi {
    host: String,
    port: u16,
    account: Aor,
    password: String,
    timeout: Duration,
}

/// A response: status and body.
struct Answer {
    status: u16,
    challenges: Vec<String>,
    body: String,
}

impl WatcherApi {
    /// The API at `base` (`http://host[:port]`, port 80 by default) for `account`.
    pub fn new(
        base: &str,
        account: Aor,
        password: &str,
        timeout: Duration,
    ) -> Result<WatcherApi, ApiError> {
        let bad = || ApiError::BadBase(base.to_owned());
        let rest = base.strip_prefix("http://").ok_or_else(bad)?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(bad());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad());
        }
        Ok(WatcherApi {
            host: host.to_owned(),
            port,
            account,
            password: password.to_owned(),
            timeout,
        })
    }

    fn base(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// Stores `decision` about `watcher` (`user@domain`), or forgets it with `None`; the
    /// server's confirmation line.
    pub async fn decide(
        &self,
        watcher: &str,
        decision: Option<Decision>,
    ) -> Result<String, ApiError> {
        let path = format!("/api/v1/presence/watchers/{}", path_segment(watcher));
        let answer = match decision {
            Some(d) => self.request("PUT", &path, d.as_str()).await?,
            None => self.request("DELETE", &path, "").await?,
        };
        match (answer.status, decision) {
            (200, _) => Ok(answer.body.trim().to_owned()),
            (204, None) => Ok(format!("{watcher}: decision forgotten")),
            (status, _) => Err(refused(status, &answer.body)),
        }
    }

    /// The JSON list of our watchers and decisions.
    pub async fn watchers(&self) -> Result<String, ApiError> {
        let answer = self.request("GET", "/api/v1/presence/watchers", "").await?;
        match answer.status {
            200 => Ok(answer.body),
            status => Err(refused(status, &answer.body)),
        }
    }

    /// Sends the request, answering one Digest challenge.
    async fn request(&self, method: &str, path: &str, body: &str) -> Result<Answer, ApiError> {
        let first = self.exchange(method, path, body, None).await?;
        if first.status != 401 {
            return Ok(first);
        }
        let parsed: Vec<AuthParams<'_>> = first
            .challenges
            .iter()
            .filter_map(|c| AuthParams::parse(c, "WWW-Authenticate").ok())
            .collect();
        let challenge = select_challenge(&parsed).ok_or_else(|| {
            ApiError::BadResponse("401 without a Digest challenge we can answer".to_owned())
        })?;
        let cnonce = format!("{:016x}", rand::random::<u64>());
        let credentials = authorization(
            challenge,
            &ClientRequest {
                username: self.account.user(),
                password: &self.password,
                method,
                uri: path,
                cnonce: &cnonce,
                nc: 1,
            },
        )
        .map_err(|e| ApiError::BadResponse(e.to_string()))?;
        let second = self
            .exchange(method, path, body, Some(&credentials))
            .await?;
        if second.status == 401 {
            return Err(ApiError::WrongPassword(self.account.to_string()));
        }
        Ok(second)
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: &str,
        credentials: Option<&str>,
    ) -> Result<Answer, ApiError> {
        let work = async {
            let mut stream = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|source| ApiError::Connect {
                    base: self.base(),
                    source,
                })?;
            let auth = credentials.map_or(String::new(), |c| format!("Authorization: {c}\r\n"));
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
                 User-Agent: parley\r\nContent-Type: text/plain\r\n{auth}\
                 Content-Length: {len}\r\n\r\n{body}",
                host = self.account.domain(),
                len = body.len(),
            );
            let io = |source| ApiError::Connect {
                base: self.base(),
                source,
            };
            stream.write_all(request.as_bytes()).await.map_err(io)?;
            let mut raw = Vec::new();
            (&mut stream)
                .take(MAX_RESPONSE)
                .read_to_end(&mut raw)
                .await
                .map_err(io)?;
            parse_answer(&raw)
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ApiError::Timeout(self.base()))?
    }
}

fn refused(status: u16, body: &str) -> ApiError {
    ApiError::Refused {
        status,
        reason: body.trim().to_owned(),
    }
}

/// `watcher` as one path segment: characters outside the unreserved set and `@`, `:` are
/// percent-encoded (RFC 3986 §3.3).
fn path_segment(watcher: &str) -> String {
    let mut out = String::new();
    for b in watcher.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@:+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Status line, `WWW-Authenticate` values and body of an HTTP/1.1 response read to the end
/// (the server closes the connection; a chunked body is not expected from the API).
fn parse_answer(raw: &[u8]) -> Result<Answer, ApiError> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ApiError::BadResponse("no end of headers".to_owned()))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::BadResponse("no status line".to_owned()))?;
    let challenges = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    Ok(Answer {
        status,
        challenges,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str) -> Result<WatcherApi, ApiError> {
        WatcherApi::new(
            base,
            Aor::parse("alice@example.com").unwrap(),
            "pw",
            Duration::from_secs(1),
        )
    }

    #[test]
    fn base_urls() {
        let a = api("http://example.com:8080").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("example.com", 8080));
        let a = api("http://127.0.0.1/").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", 80));
        let a = api("http://[::1]:9000").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 9000));
        for bad in [
            "https://example.com",
            "example.com:80",
            "http://",
            "http://h:x",
            "http://h/p",
        ] {
            assert!(matches!(api(bad), Err(ApiError::BadBase(_))), "{bad}");
        }
    }

    #[test]
    fn answers_are_read() {
        let raw =
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"x\", nonce=\"n\"\r\n\
                    www-authenticate: Digest realm=\"x\", nonce=\"m\", algorithm=MD5\r\n\r\nno";
        let a = parse_answer(raw).unwrap();
        assert_eq!(
            (a.status, a.challenges.len(), a.body.as_str()),
            (401, 2, "no")
        );
        assert!(parse_answer(b"garbage").is_err());
    }

    #[test]
    fn watchers_become_one_segment() {
        assert_eq!(path_segment("sip:bob@example.com"), "sip:bob@example.com");
        assert_eq!(path_segment("bo b/x"), "bo%20b%2Fx");
    }
}
