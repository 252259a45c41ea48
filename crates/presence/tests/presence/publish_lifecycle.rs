//! A client's publication goes through its life cycle on a virtual clock (RFC 3903 §4–§6):
//! initial PUBLISH gets an entity-tag and an expiry; a refresh (no body, `SIP-If-Match`) and a
//! modify (body and `SIP-If-Match`) each get a new tag, the old one is dead (`412`); `Expires: 0`
//! removes; an expired publication is reported by `expire` and its tag is dead; expiry below
//! the minimum is `423`, above the maximum is shortened. Time is plain integers.

use parley_presence::{
    Basic, Change, EntityTag, ExpiryLimits, Presence, PublicationLimits, Publications,
    PublishError, PublishRequest, SeededEntityTags,
};

const SEC: i64 = 1000;

fn doc(basic: Basic) -> Presence {
    Presence::with_basic("sip:alice@example.test", "t1", basic)
}

fn store() -> (Publications, SeededEntityTags) {
    let limits = PublicationLimits {
        expiry: ExpiryLimits {
            default: 3600,
            min: 60,
            max: 7200,
        },
        max_publications: 3,
    };
    (Publications::new(limits), SeededEntityTags::new(0x5eed))
}

fn req(
    if_match: Option<&EntityTag>,
    expires: Option<u32>,
    body: Option<Presence>,
) -> PublishRequest<Presence> {
    PublishRequest {
        if_match: if_match.cloned(),
        expires,
        body,
    }
}

#[test]
fn initial_refresh_modify_remove() {
    let (mut pubs, mut tags) = store();
    let t0 = 1_000_000 * SEC;

    let first = pubs
        .handle_publish(t0, req(None, Some(120), Some(doc(Basic::Open))), &mut tags)
        .unwrap();
    assert_eq!((first.expires, first.change), (120, Change::Created));
    assert_eq!(pubs.poll_timeout(), Some(t0 + 120 * SEC));

    // Refresh at t0+100: new tag, new expiry, same document, no state change for watchers.
    let refreshed = pubs
        .handle_publish(
            t0 + 100 * SEC,
            req(Some(&first.etag), Some(120), None),
            &mut tags,
        )
        .unwrap();
    assert_eq!(refreshed.change, Change::Refreshed);
    assert!(!refreshed.change.alters_state());
    assert_ne!(refreshed.etag, first.etag);
    assert_eq!(pubs.poll_timeout(), Some(t0 + 220 * SEC));
    let p = pubs.get(&refreshed.etag).unwrap();
    assert_eq!(
        (p.modified_at, p.document.tuples[0].status.basic),
        (t0, Some(Basic::Open))
    );

    // The old tag is dead: 412.
    let err = pubs
        .handle_publish(
            t0 + 101 * SEC,
            req(Some(&first.etag), None, None),
            &mut tags,
        )
        .unwrap_err();
    assert_eq!(err, PublishError::UnknownEntityTag(first.etag.clone()));
    assert_eq!(err.status_code(), 412);

    // Modify: replaces the document.
    let modified = pubs
        .handle_publish(
            t0 + 150 * SEC,
            req(Some(&refreshed.etag), None, Some(doc(Basic::Closed))),
            &mut tags,
        )
        .unwrap();
    assert_eq!(
        (modified.change, modified.expires),
        (Change::Modified, 3600)
    );
    let p = pubs.get(&modified.etag).unwrap();
    assert_eq!(
        (p.modified_at, p.document.tuples[0].status.basic),
        (t0 + 150 * SEC, Some(Basic::Closed))
    );
    assert_eq!(pubs.len(), 1);

    // Remove.
    let removed = pubs
        .handle_publish(
            t0 + 160 * SEC,
            req(Some(&modified.etag), Some(0), None),
            &mut tags,
        )
        .unwrap();
    assert_eq!(
        (removed.change, removed.expires, &removed.etag),
        (Change::Removed, 0, &modified.etag)
    );
    assert!(pubs.is_empty());
    assert_eq!(pubs.poll_timeout(), None);
    let again = pubs.handle_publish(
        t0 + 161 * SEC,
        req(Some(&modified.etag), Some(0), None),
        &mut tags,
    );
    assert_eq!(again.unwrap_err().status_code(), 412);
}

#[test]
fn expiry_reports_and_kills_the_tag() {
    let (mut pubs, mut tags) = store();
    let a = pubs
        .handle_publish(0, req(None, Some(60), Some(doc(Basic::Open))), &mut tags)
        .unwrap();
    let b = pubs
        .handle_publish(
            10 * SEC,
            req(None, Some(300), Some(doc(Basic::Open))),
            &mut tags,
        )
        .unwrap();
    assert_eq!(pubs.poll_timeout(), Some(60 * SEC));
    assert!(pubs.expire(59_999).is_empty());
    // A refresh arriving exactly at expiry is too late, even before `expire` ran.
    let late = pubs.handle_publish(60 * SEC, req(Some(&a.etag), None, None), &mut tags);
    assert_eq!(
        late.unwrap_err(),
        PublishError::UnknownEntityTag(a.etag.clone())
    );
    let gone = pubs.expire(60 * SEC);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].etag, a.etag);
    assert_eq!(pubs.poll_timeout(), Some(310 * SEC));
    assert!(pubs.get(&b.etag).is_some());
}

#[test]
fn expiry_bounds() {
    let (mut pubs, mut tags) = store();
    let err = pubs
        .handle_publish(0, req(None, Some(30), Some(doc(Basic::Open))), &mut tags)
        .unwrap_err();
    assert_eq!(err.status_code(), 423);
    assert!(matches!(err, PublishError::IntervalTooBrief(t) if t.min_expires == 60));
    assert_eq!(err.to_string(), "interval too brief; Min-Expires: 60");
    let long = pubs
        .handle_publish(
            0,
            req(None, Some(1_000_000), Some(doc(Basic::Open))),
            &mut tags,
        )
        .unwrap();
    assert_eq!(long.expires, 7200);
    let default = pubs
        .handle_publish(0, req(None, None, Some(doc(Basic::Open))), &mut tags)
        .unwrap();
    assert_eq!(default.expires, 3600);
    // 423 is checked after the tag (RFC 3903 §6 steps 3 then 4).
    let err = pubs
        .handle_publish(
            0,
            req(Some(&EntityTag::new("nope")), Some(1), None),
            &mut tags,
        )
        .unwrap_err();
    assert_eq!(err.status_code(), 412);
}

#[test]
fn malformed_requests_and_limits() {
    let (mut pubs, mut tags) = store();
    assert_eq!(
        pubs.handle_publish(0, req(None, None, None), &mut tags)
            .unwrap_err(),
        PublishError::MissingBody
    );
    let err = pubs
        .handle_publish(0, req(None, Some(0), Some(doc(Basic::Open))), &mut tags)
        .unwrap_err();
    assert_eq!(
        (err.clone(), err.status_code()),
        (PublishError::RemoveWithoutEntityTag, 400)
    );
    for _ in 0..3 {
        pubs.handle_publish(0, req(None, None, Some(doc(Basic::Open))), &mut tags)
            .unwrap();
    }
    let err = pubs
        .handle_publish(0, req(None, None, Some(doc(Basic::Open))), &mut tags)
        .unwrap_err();
    assert_eq!(err, PublishError::TooManyPublications { limit: 3 });
}

/// Two PUBLISHes carrying the same `SIP-If-Match` (a client retransmitting, or racing itself):
/// they are applied in order, the first wins and the second gets one `412`, not a storm.
#[test]
fn same_tag_twice_in_a_row() {
    let (mut pubs, mut tags) = store();
    let first = pubs
        .handle_publish(0, req(None, None, Some(doc(Basic::Open))), &mut tags)
        .unwrap();
    let a = pubs.handle_publish(
        SEC,
        req(Some(&first.etag), None, Some(doc(Basic::Closed))),
        &mut tags,
    );
    let b = pubs.handle_publish(
        SEC,
        req(Some(&first.etag), None, Some(doc(Basic::Open))),
        &mut tags,
    );
    assert!(a.is_ok());
    assert_eq!(b.unwrap_err().status_code(), 412);
    assert_eq!(
        pubs.iter().next().unwrap().document.tuples[0].status.basic,
        Some(Basic::Closed)
    );
}

#[test]
fn restored_publications_keep_their_order() {
    let (mut pubs, mut tags) = store();
    let a = pubs
        .handle_publish(0, req(None, None, Some(doc(Basic::Open))), &mut tags)
        .unwrap();
    let saved: Vec<_> = pubs.iter().cloned().collect();
    let (mut fresh, _) = store();
    for p in saved {
        fresh.restore(p);
    }
    let mut other_tags = SeededEntityTags::new(99);
    let b = fresh
        .handle_publish(
            SEC,
            req(None, None, Some(doc(Basic::Closed))),
            &mut other_tags,
        )
        .unwrap();
    let seq = |t: &EntityTag| fresh.get(t).unwrap().sequence;
    assert!(seq(&b.etag) > seq(&a.etag));
}
