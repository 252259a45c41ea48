//! A differential property test: random sequences of binding and offline-message operations
//! give the same results on [`MemoryStore`] and [`SqliteStore`] (errors compared by message).

use parley_store::{Binding, BindingChange, MemoryStore, MessageId, SqliteStore, Store};
use proptest::prelude::*;

use crate::conformance::{addr, binding, message, ts};

#[derive(Debug, Clone)]
enum Op {
    Update(u8, Vec<Change>, u64),
    RemoveBinding(u8, u8),
    RemoveAll(u8),
    Live(u8, u64),
    Purge(u64),
    Enqueue(u8, u64, usize),
    Pending(u8),
    Due(u64, usize),
    Attempt(u64, Option<u64>),
    Delete(u64),
}

#[derive(Debug, Clone)]
enum Change {
    Upsert(u8, u64, Option<u16>),
    Remove(u8),
    RemoveAll,
}

const AORS: [&str; 3] = ["alice@example.test", "bob@example.test", "alice@other.test"];

fn contact(i: u8) -> String {
    format!("sip:c{}@192.0.2.1", i % 4)
}

fn make_binding(aor: u8, c: u8, expires: u64, q: Option<u16>) -> Binding {
    Binding {
        q,
        ..binding(AORS[usize::from(aor % 3)], &contact(c), expires)
    }
}

fn op() -> impl Strategy<Value = Op> {
    let change = prop_oneof![
        (any::<u8>(), 0u64..100, prop::option::of(0u16..1100))
            .prop_map(|(c, e, q)| Change::Upsert(c, e, q)),
        any::<u8>().prop_map(Change::Remove),
        Just(Change::RemoveAll),
    ];
    prop_oneof![
        (any::<u8>(), prop::collection::vec(change, 0..4), 0u64..100)
            .prop_map(|(a, cs, n)| Op::Update(a, cs, n)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, c)| Op::RemoveBinding(a, c)),
        any::<u8>().prop_map(Op::RemoveAll),
        (any::<u8>(), 0u64..100).prop_map(|(a, n)| Op::Live(a, n)),
        (0u64..100).prop_map(Op::Purge),
        (any::<u8>(), 0u64..100, 0usize..4).prop_map(|(a, t, l)| Op::Enqueue(a, t, l)),
        any::<u8>().prop_map(Op::Pending),
        (0u64..100, 0usize..4).prop_map(|(n, l)| Op::Due(n, l)),
        (0u64..12, prop::option::of(0u64..100)).prop_map(|(id, n)| Op::Attempt(id, n)),
        (0u64..12).prop_map(Op::Delete),
    ]
}

fn apply<S: Store>(s: &S, op: &Op) -> String {
    let aor = |a: &u8| addr(AORS[usize::from(a % 3)]);
    match op {
        Op::Update(a, changes, now) => {
            let changes: Vec<BindingChange> = changes
                .iter()
                .map(|c| match c {
                    // One in four upserts names another AOR, which must be refused.
                    Change::Upsert(c, e, q) => {
                        let owner = if c % 4 == 3 { a % 3 + 1 } else { *a };
                        BindingChange::Upsert(make_binding(owner, *c, *e, *q))
                    }
                    Change::Remove(c) => BindingChange::Remove {
                        contact: contact(*c),
                    },
                    Change::RemoveAll => BindingChange::RemoveAll,
                })
                .collect();
            format!(
                "{:?}",
                s.update_bindings(&aor(a), &changes, ts(*now))
                    .map_err(|e| e.to_string())
            )
        }
        Op::RemoveBinding(a, c) => format!("{:?}", s.remove_binding(&aor(a), &contact(*c)).ok()),
        Op::RemoveAll(a) => format!("{:?}", s.remove_all_bindings(&aor(a)).ok()),
        Op::Live(a, now) => format!("{:?}", s.live_bindings(&aor(a), ts(*now)).ok()),
        Op::Purge(now) => format!("{:?}", s.purge_expired_bindings(ts(*now)).ok()),
        Op::Enqueue(a, t, limit) => {
            let m = message(AORS[usize::from(a % 3)], &t.to_be_bytes(), *t);
            format!(
                "{:?}",
                s.enqueue_message(&m, *limit).map_err(|e| e.to_string())
            )
        }
        Op::Pending(a) => format!("{:?}", s.pending_messages(&aor(a)).ok()),
        Op::Due(now, limit) => format!("{:?}", s.due_messages(ts(*now), *limit).ok()),
        Op::Attempt(id, next) => format!(
            "{:?}",
            s.record_delivery_attempt(MessageId(*id), next.map(ts))
                .map_err(|e| e.to_string())
        ),
        Op::Delete(id) => format!("{:?}", s.delete_message(MessageId(*id)).ok()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn memory_and_sqlite_agree(ops in prop::collection::vec(op(), 1..40)) {
        let memory = MemoryStore::new();
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path()).unwrap();
        for (i, op) in ops.iter().enumerate() {
            prop_assert_eq!(apply(&memory, op), apply(&sqlite, op), "op {} {:?}", i, op);
        }
    }
}
