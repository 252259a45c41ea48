//! Offline messages (RFC 3428 store-and-forward): order, cap, deletion, retries.

use parley_store::{MessageId, Store, StoreError};

use super::{addr, message, ts};

const BOB: &str = "bob@example.test";

pub fn pending_in_order_with_exact_bytes<S: Store>(s: &S) {
    // Received out of order (clock steps, concurrent enqueues): listed by time, then id.
    let late = s
        .enqueue_message(&message(BOB, b"third", 3_000), 10)
        .unwrap();
    let early = s
        .enqueue_message(&message(BOB, b"\x00\xff binary", 1_000), 10)
        .unwrap();
    let tie = s
        .enqueue_message(&message(BOB, "ünïcode".as_bytes(), 1_000), 10)
        .unwrap();
    assert!(early < tie, "ids increase");
    assert!(late != early && late != tie);
    let pending = s.pending_messages(&addr(BOB)).unwrap();
    let ids: Vec<MessageId> = pending.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![early, tie, late]);
    let first = &pending[0];
    let sent = message(BOB, b"\x00\xff binary", 1_000);
    assert_eq!(first.body, sent.body);
    assert_eq!(first.sender, sent.sender);
    assert_eq!(first.recipient, sent.recipient);
    assert_eq!(first.content_type, sent.content_type);
    assert_eq!(first.received_at, ts(1_000));
    assert_eq!(first.attempts, 0);
    assert_eq!(first.next_attempt_at, None);
    assert!(s
        .pending_messages(&addr("carol@example.test"))
        .unwrap()
        .is_empty());
}

pub fn per_recipient_cap<S: Store>(s: &S) {
    s.enqueue_message(&message(BOB, b"1", 1), 2).unwrap();
    s.enqueue_message(&message(BOB, b"2", 2), 2).unwrap();
    match s.enqueue_message(&message(BOB, b"3", 3), 2) {
        Err(StoreError::QueueFull { recipient, limit }) => {
            assert_eq!(recipient, addr(BOB));
            assert_eq!(limit, 2);
        }
        other => panic!("expected QueueFull, got {other:?}"),
    }
    assert_eq!(s.count_pending(&addr(BOB)).unwrap(), 2);
    // Other recipients have their own queue; a higher limit lets more in.
    s.enqueue_message(&message("carol@example.test", b"1", 1), 2)
        .unwrap();
    s.enqueue_message(&message(BOB, b"3", 3), 3).unwrap();
    assert_eq!(s.count_pending(&addr(BOB)).unwrap(), 3);
    assert!(matches!(
        s.enqueue_message(&message("dave@example.test", b"x", 1), 0),
        Err(StoreError::QueueFull { .. })
    ));
}

pub fn delete_by_id<S: Store>(s: &S) {
    let a = s.enqueue_message(&message(BOB, b"a", 1), 10).unwrap();
    let b = s.enqueue_message(&message(BOB, b"b", 2), 10).unwrap();
    assert!(s.delete_message(a).unwrap());
    assert!(!s.delete_message(a).unwrap());
    let pending = s.pending_messages(&addr(BOB)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, b);
    assert_eq!(s.count_pending(&addr(BOB)).unwrap(), 1);
    // Ids are not reused after deletion.
    assert!(s.enqueue_message(&message(BOB, b"c", 3), 10).unwrap() > b);
}

pub fn delivery_attempts_and_due_messages<S: Store>(s: &S) {
    let a = s.enqueue_message(&message(BOB, b"a", 1), 10).unwrap();
    let b = s.enqueue_message(&message(BOB, b"b", 2), 10).unwrap();
    let c = s
        .enqueue_message(&message("carol@example.test", b"c", 3), 10)
        .unwrap();
    // Fresh messages wait for a registration, they are not "due".
    assert!(s.due_messages(ts(u64::MAX), 10).unwrap().is_empty());
    assert_eq!(s.record_delivery_attempt(b, Some(ts(5_000))).unwrap(), 1);
    assert_eq!(s.record_delivery_attempt(b, Some(ts(6_000))).unwrap(), 2);
    assert_eq!(s.record_delivery_attempt(c, Some(ts(4_000))).unwrap(), 1);
    assert_eq!(s.record_delivery_attempt(a, None).unwrap(), 1);
    assert!(s.due_messages(ts(3_999), 10).unwrap().is_empty());
    let due = s.due_messages(ts(6_000), 10).unwrap();
    assert_eq!(due.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b, c]);
    assert_eq!(due[0].attempts, 2);
    assert_eq!(due[0].next_attempt_at, Some(ts(6_000)));
    assert_eq!(s.due_messages(ts(6_000), 1).unwrap().len(), 1);
    let pending = s.pending_messages(&addr(BOB)).unwrap();
    assert_eq!((pending[0].id, pending[0].attempts), (a, 1));
    assert_eq!(pending[0].next_attempt_at, None);
    assert!(s.delete_message(b).unwrap());
    match s.record_delivery_attempt(b, None) {
        Err(StoreError::MessageNotFound(id)) => assert_eq!(id, b),
        other => panic!("expected MessageNotFound, got {other:?}"),
    }
}

pub fn invalid_messages_are_refused<S: Store>(s: &S) {
    let mut m = message(BOB, b"x", 1);
    m.content_type = String::new();
    assert!(matches!(
        s.enqueue_message(&m, 10),
        Err(StoreError::InvalidValue { .. })
    ));
    let mut m = message(BOB, b"x", 1);
    m.sender = "<sip:a@b>\r\nVia: evil".into();
    assert!(matches!(
        s.enqueue_message(&m, 10),
        Err(StoreError::InvalidValue { .. })
    ));
    assert_eq!(s.count_pending(&addr(BOB)).unwrap(), 0);
}
