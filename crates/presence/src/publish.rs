//! Event state compositor (ESC) state for one presentity: the publications it holds and their
//! entity-tags (RFC 3903 §4–§6).
//!
//! One [`Publications`] exists per presentity and event package; the server keeps it in the
//! presentity's shard and feeds it each PUBLISH after the body was parsed and the request
//! authorised (RFC 3903 §6 steps 1–2). Requests for one presentity are handled one at a time,
//! in arrival order, because `handle_publish` takes `&mut self`: two PUBLISHes with the same
//! `SIP-If-Match` cannot race (RFC 3903 §6 step 3), so the second one gets a clean `412`.
//!
//! Run-loop contract: `handle_publish` for each request (its result is the response), `expire`
//! whenever `poll_timeout`'s instant is reached, `iter` to compose. Time is always passed in.
//!
//! ```text
//!              PUBLISH, body, no SIP-If-Match          Expires: 0 / expiry
//!   (none) ─────────────────────────────────▶ Active(etag) ──────────────▶ (none)
//!                                              │   ▲
//!                  refresh / modify (If-Match) └───┘ new etag, new expiry
//! ```

use crate::etag::{EntityTag, EntityTagSource};
use crate::time::UnixMillis;

/// Expiry bounds of an event package, in seconds (RFC 3903 §4.1, RFC 6665 §4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryLimits {
    /// Used when the request has no `Expires`.
    pub default: u32,
    /// Shorter non-zero requests are refused with `423 Interval Too Brief` and `Min-Expires`.
    pub min: u32,
    /// Longer requests are shortened to this.
    pub max: u32,
}

impl ExpiryLimits {
    /// The interval granted for a request of `requested` seconds; `Ok(0)` means removal.
    pub fn grant(&self, requested: Option<u32>) -> Result<u32, IntervalTooBrief> {
        match requested {
            None => Ok(self.default.clamp(self.min, self.max)),
            Some(0) => Ok(0),
            Some(s) if s < self.min => Err(IntervalTooBrief {
                min_expires: self.min,
            }),
            Some(s) => Ok(s.min(self.max)),
        }
    }
}

/// A non-zero expiry below the minimum: answer `423` with `Min-Expires: min_expires`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interval too brief; Min-Expires: {min_expires}")]
pub struct IntervalTooBrief {
    /// The value for `Min-Expires`.
    pub min_expires: u32,
}

/// One PUBLISH, reduced to what the ESC needs (RFC 3903 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest<D> {
    /// `SIP-If-Match`, if present.
    pub if_match: Option<EntityTag>,
    /// `Expires`, if present.
    pub expires: Option<u32>,
    /// The parsed body, if the request had one.
    pub body: Option<D>,
}

/// Why a PUBLISH is refused. [`status_code`](Self::status_code) gives the response code and the
/// message is fit for its reason phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// `SIP-If-Match` names no publication (never existed, removed or expired): `412` (§6 step 3).
    #[error("no publication with entity-tag {0}")]
    UnknownEntityTag(EntityTag),
    /// `423` with `Min-Expires` (§6 step 4).
    #[error(transparent)]
    IntervalTooBrief(#[from] IntervalTooBrief),
    /// No body and no `SIP-If-Match`: an initial publication needs state (§6 step 4): `400`.
    #[error("initial PUBLISH without a body")]
    MissingBody,
    /// `Expires: 0` without `SIP-If-Match`: nothing to remove (§4.5 requires the tag): `400`.
    #[error("removal (Expires: 0) without SIP-If-Match")]
    RemoveWithoutEntityTag,
    /// The presentity already has the most publications allowed: `403`.
    #[error("too many publications for this presentity (limit {limit})")]
    TooManyPublications {
        /// The configured limit.
        limit: usize,
    },
}

impl PublishError {
    /// The SIP response code for this refusal.
    pub fn status_code(&self) -> u16 {
        match self {
            PublishError::UnknownEntityTag(_) => 412,
            PublishError::IntervalTooBrief(_) => 423,
            PublishError::MissingBody | PublishError::RemoveWithoutEntityTag => 400,
            PublishError::TooManyPublications { .. } => 403,
        }
    }
}

/// What a successful PUBLISH did to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A new publication (initial PUBLISH).
    Created,
    /// Only the expiry moved (refresh, no body): watchers need no NOTIFY.
    Refreshed,
    /// The document was replaced (modify).
    Modified,
    /// The publication is gone (`Expires: 0`).
    Removed,
}

impl Change {
    /// Whether the composed document may differ, i.e. watchers must be re-notified.
    pub fn alters_state(self) -> bool {
        !matches!(self, Change::Refreshed)
    }
}

/// The `200 OK` to send: `SIP-ETag: etag`, `Expires: expires` (RFC 3903 §6 step 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The new entity-tag (for a removal: the tag that was removed).
    pub etag: EntityTag,
    /// Seconds granted (0 for a removal).
    pub expires: u32,
    /// What changed.
    pub change: Change,
}

/// One piece of published state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication<D> {
    /// Its current entity-tag.
    pub etag: EntityTag,
    /// The published document.
    pub document: D,
    /// When it expires.
    pub expires_at: UnixMillis,
    /// When the document was last set (initial or modify; a refresh does not count). Composition
    /// orders publications by this.
    pub modified_at: UnixMillis,
    /// Increases with every initial or modifying PUBLISH of this presentity: breaks ties between
    /// equal `modified_at`.
    pub sequence: u64,
}

/// Limits of one presentity's publications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicationLimits {
    /// Expiry bounds (RFC 3903 §4.1; presence defaults to 3600 s).
    pub expiry: ExpiryLimits,
    /// Most publications one presentity may hold at once (one per device is typical).
    pub max_publications: usize,
}

impl Default for PublicationLimits {
    /// Expires default 3600 s, at least 60 s, at most 86400 s; 16 publications.
    fn default() -> Self {
        Self {
            expiry: ExpiryLimits {
                default: 3600,
                min: 60,
                max: 86_400,
            },
            max_publications: 16,
        }
    }
}

/// The publications of one presentity for one event package.
#[derive(Debug, Clone)]
pub struct Publications<D = crate::Presence> {
    items: Vec<Publication<D>>,
    limits: PublicationLimits,
    next_sequence: u64,
}

impl<D> Publications<D> {
    /// An empty store.
    pub fn new(limits: PublicationLimits) -> Self {
        Self {
            items: Vec::new(),
            limits,
            next_sequence: 0,
        }
    }

    /// Applies one PUBLISH at `now` (RFC 3903 §6 steps 3–8). Tags come from `tags`.
    pub fn handle_publish(
        &mut self,
        now: UnixMillis,
        request: PublishRequest<D>,
        tags: &mut impl EntityTagSource,
    ) -> Result<Published, PublishError> {
        // Step 3: the entity-tag must name a live publication.
        let if_match = request.if_match;
        let index = match &if_match {
            Some(tag) => Some(
                self.items
                    .iter()
                    .position(|p| &p.etag == tag && p.expires_at > now)
                    .ok_or_else(|| PublishError::UnknownEntityTag(tag.clone()))?,
            ),
            None => None,
        };
        // Step 4: expiry.
        let expires = self.limits.expiry.grant(request.expires)?;
        let expires_at = now.saturating_add(i64::from(expires) * 1000);
        match (index, request.body) {
            (Some(i), _) if expires == 0 => {
                let removed = self.items.remove(i);
                Ok(Published {
                    etag: removed.etag,
                    expires: 0,
                    change: Change::Removed,
                })
            }
            (None, _) if expires == 0 => Err(PublishError::RemoveWithoutEntityTag),
            (None, None) => Err(PublishError::MissingBody),
            (None, Some(document)) => {
                if self.items.len() >= self.limits.max_publications {
                    return Err(PublishError::TooManyPublications {
                        limit: self.limits.max_publications,
                    });
                }
                let etag = self.fresh_tag(tags);
                let sequence = self.bump();
                self.items.push(Publication {
                    etag: etag.clone(),
                    document,
                    expires_at,
                    modified_at: now,
                    sequence,
                });
                Ok(Published {
                    etag,
                    expires,
                    change: Change::Created,
                })
            }
            (Some(i), body) => {
                let etag = self.fresh_tag(tags);
                let change = if body.is_some() {
                    Change::Modified
                } else {
                    Change::Refreshed
                };
                let sequence = if body.is_some() {
                    Some(self.bump())
                } else {
                    None
                };
                // `i` came from `position` above and nothing was removed since.
                let Some(p) = self.items.get_mut(i) else {
                    return Err(PublishError::UnknownEntityTag(
                        if_match.unwrap_or_else(|| etag.clone()),
                    ));
                };
                p.etag = etag.clone();
                p.expires_at = expires_at;
                if let (Some(document), Some(sequence)) = (body, sequence) {
                    p.document = document;
                    p.modified_at = now;
                    p.sequence = sequence;
                }
                Ok(Published {
                    etag,
                    expires,
                    change,
                })
            }
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    fn fresh_tag(&self, tags: &mut impl EntityTagSource) -> EntityTag {
        // A source never repeats itself; this only guards against tags restored from storage
        // that an earlier source (another seed) happened to produce.
        let mut tag = tags.next_tag();
        while self.items.iter().any(|p| p.etag == tag) {
            tag = tags.next_tag();
        }
        tag
    }

    /// Removes and returns the publications whose expiry is at or before `now`.
    pub fn expire(&mut self, now: UnixMillis) -> Vec<Publication<D>> {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|p| p.expires_at <= now);
        self.items = kept;
        gone
    }

    /// The next instant at which [`expire`](Self::expire) has work.
    pub fn poll_timeout(&self) -> Option<UnixMillis> {
        self.items.iter().map(|p| p.expires_at).min()
    }

    /// Puts back a publication loaded from storage (after a restart).
    pub fn restore(&mut self, publication: Publication<D>) {
        self.next_sequence = self.next_sequence.max(publication.sequence);
        self.items.push(publication);
    }

    /// The publication with entity-tag `etag`.
    pub fn get(&self, etag: &EntityTag) -> Option<&Publication<D>> {
        self.items.iter().find(|p| &p.etag == etag)
    }

    /// The publications, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Publication<D>> {
        self.items.iter()
    }

    /// How many publications are held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The limits in force.
    pub fn limits(&self) -> &PublicationLimits {
        &self.limits
    }
}
