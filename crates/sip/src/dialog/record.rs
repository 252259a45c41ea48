//! A dialog as plain strings and numbers, for the store (issue 4 durability: dialog
//! identifiers, route set, CSeq, contact).

use super::Dialog;
use crate::uri::{Uri, UriError};

/// The persisted form of a [`Dialog`]: every URI printed, every number as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialogRecord {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    pub local_uri: String,
    pub remote_uri: String,
    pub local_seq: u32,
    pub remote_seq: Option<u32>,
    pub remote_target: String,
    pub local_target: String,
    /// Route URIs in the order requests carry them.
    pub route_set: Vec<String>,
    pub secure: bool,
}

/// A stored record that no longer parses (a corrupt or hand-edited row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("stored {field} is not a URI: {error}")]
    Uri {
        field: &'static str,
        error: UriError,
    },
    #[error("stored {0} is invalid")]
    Invalid(&'static str),
}

fn uri(field: &'static str, s: &str) -> Result<Uri, RecordError> {
    Uri::parse(s).map_err(|error| RecordError::Uri { field, error })
}

impl Dialog {
    pub fn to_record(&self) -> DialogRecord {
        DialogRecord {
            call_id: self.call_id.clone(),
            local_tag: self.local_tag.clone(),
            remote_tag: self.remote_tag.clone(),
            local_uri: self.local_uri.to_string(),
            remote_uri: self.remote_uri.to_string(),
            local_seq: self.local_seq,
            remote_seq: self.remote_seq,
            remote_target: self.remote_target.to_string(),
            local_target: self.local_target.to_string(),
            route_set: self.route_set.iter().map(Uri::to_string).collect(),
            secure: self.secure,
        }
    }

    pub fn from_record(r: &DialogRecord) -> Result<Dialog, RecordError> {
        if r.call_id.is_empty() {
            return Err(RecordError::Invalid("call_id"));
        }
        Ok(Dialog {
            call_id: r.call_id.clone(),
            local_tag: r.local_tag.clone(),
            remote_tag: r.remote_tag.clone(),
            local_uri: uri("local_uri", &r.local_uri)?,
            remote_uri: uri("remote_uri", &r.remote_uri)?,
            local_seq: r.local_seq,
            remote_seq: r.remote_seq,
            remote_target: uri("remote_target", &r.remote_target)?,
            local_target: uri("local_target", &r.local_target)?,
            route_set: r
                .route_set
                .iter()
                .map(|s| uri("route_set", s))
                .collect::<Result<_, _>>()?,
            secure: r.secure,
        })
    }
}
