//! What can go wrong for a user agent, said so that a person knows what happened and whose
//! fault it is (STYLE.md item 6).

use crate::auth::AuthFailure;
use parley_net::resolve::ServerTarget;

/// An operation of the [`crate::UserAgent`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A 401/407 answered credentials computed from a fresh challenge (RFC 3261 §22.2): the
    /// password is wrong, or the server does not know the account (a server does not say
    /// which, so as not to reveal its users).
    #[error(
        "wrong password for {account} (or no such account): the server refused the credentials"
    )]
    WrongPassword { account: String },
    /// The server challenged in a way this client cannot or will not answer.
    #[error("authentication with the server failed: {0}")]
    Auth(AuthFailure),
    /// `404 Not Found` (RFC 3261 §21.4.5): the user or domain does not exist there.
    #[error("{target}: no such user (404 {reason})")]
    UserUnknown { target: String, reason: String },
    /// `403 Forbidden` (RFC 3261 §21.4.4).
    #[error("forbidden by the server (403 {reason})")]
    Forbidden { reason: String },
    /// No usable answer from any server: connection refused, ICMP unreachable, or no
    /// response before the transaction timed out (RFC 3263 §4.3 counts all as failures).
    #[error("server unreachable: {detail}")]
    Unreachable { detail: String },
    /// Any other final response that is not a success.
    #[error("the server answered {code} {reason}")]
    Rejected { code: u16, reason: String },
    /// The registrar answered 200 without our contact in it.
    #[error("the registrar did not bind our contact")]
    NotBound,
    /// A response we could not use.
    #[error("unusable response: {0}")]
    BadResponse(String),
    /// The local sockets could not be bound.
    #[error("cannot open local SIP sockets: {0}")]
    Bind(#[from] parley_net::BindError),
    /// A request we built was refused by our own endpoint (a bug).
    #[error("internal error: {0}")]
    Internal(String),
    /// The user agent has been shut down.
    #[error("the user agent has stopped")]
    Stopped,
}

impl ClientError {
    pub(crate) fn timeout(target: &ServerTarget, secs: u64) -> ClientError {
        ClientError::Unreachable {
            detail: format!("no response from {target} within {secs} s"),
        }
    }

    /// Whether trying the next server could help (RFC 3263 §4.3: a timeout, a transport
    /// failure or a 503).
    pub fn is_server_failure(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
            || matches!(self, ClientError::Rejected { code: 503, .. })
    }
}
