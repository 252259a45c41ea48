//! The conformance suite: what every [`Store`] implementation must do, as generic functions
//! over `S: Store`. `conformance_suite!(fixture)` expands to one `#[test]` per case; `fixture`
//! is an expression giving `(store, guard)`, the guard kept alive for the test (a temporary
//! directory, a database schema).

pub mod authorizations;
pub mod messages;
pub mod publications;
pub mod registrations;
pub mod restore;
pub mod subscriptions;
pub mod users;

use std::net::SocketAddr;

use parley_store::{
    Address, Binding, DialogId, Ha1Set, NewOfflineMessage, NewPublication, Source, Subscription,
    SubscriptionDialog, SubscriptionState, Timestamp, User,
};

pub fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

pub fn ts(ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

/// HA1s shaped like real ones, distinct per `seed`.
pub fn ha1(realm: &str, seed: u8) -> Ha1Set {
    let digit = char::from(b"0123456789abcdef"[usize::from(seed % 16)]);
    Ha1Set {
        realm: realm.into(),
        md5: digit.to_string().repeat(32),
        sha256: digit.to_string().repeat(64),
    }
}

pub fn user(address: &str, seed: u8) -> User {
    let address = addr(address);
    let ha1 = ha1(address.domain(), seed);
    User { address, ha1 }
}

/// A binding with only the required fields set.
pub fn binding(aor: &str, contact: &str, expires_at: u64) -> Binding {
    Binding {
        aor: addr(aor),
        contact: contact.into(),
        q: None,
        expires_at: ts(expires_at),
        call_id: "call-1".into(),
        cseq: 1,
        instance_id: None,
        reg_id: None,
        path: Vec::new(),
        source: None,
        user_agent: None,
    }
}

/// A binding with every optional field set, at their extremes.
pub fn full_binding(aor: &str, contact: &str, expires_at: u64) -> Binding {
    Binding {
        q: Some(1000),
        cseq: u32::MAX,
        instance_id: Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".into()),
        reg_id: Some(u32::MAX),
        path: vec![
            "<sip:p1.example.test;lr>".into(),
            "<sip:p2.example.test;lr>".into(),
        ],
        source: Some(Source {
            transport: "wss".into(),
            address: "[2001:db8::1]:5061".parse::<SocketAddr>().unwrap(),
            connection_id: Some(u64::MAX),
        }),
        user_agent: Some("Parley-Test/1.0 (ünïcode)".into()),
        ..binding(aor, contact, expires_at)
    }
}

pub fn message(recipient: &str, body: &[u8], received_at: u64) -> NewOfflineMessage {
    NewOfflineMessage {
        sender: "<sip:alice@example.test>;tag=1".into(),
        recipient: addr(recipient),
        content_type: "text/plain;charset=UTF-8".into(),
        body: body.to_vec(),
        received_at: ts(received_at),
    }
}

/// A presence publication received at 1 s.
pub fn publication(presentity: &str, etag: &str, body: &[u8], expires_at: u64) -> NewPublication {
    NewPublication {
        presentity: addr(presentity),
        etag: etag.into(),
        event: "presence".into(),
        content_type: "application/pidf+xml".into(),
        body: body.to_vec(),
        expires_at: ts(expires_at),
        modified_at: ts(1_000),
    }
}

/// Waits for the outcome a `submit_*` write tells its callback (on whichever thread).
pub fn wait_for<T: Send + 'static>(
    submit: impl FnOnce(parley_store::Done<T>),
) -> Result<T, parley_store::StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    submit(Box::new(move |r| tx.send(r).unwrap()));
    rx.recv().unwrap()
}

/// A pending presence subscription with only the required fields set; its dialog's Call-ID
/// is `call-{id}`.
pub fn subscription(id: &str, watcher: &str, resource: &str, expires_at: u64) -> Subscription {
    Subscription {
        id: id.into(),
        event: "presence".into(),
        watcher: addr(watcher),
        watcher_display_name: None,
        resource: addr(resource),
        dialog: SubscriptionDialog {
            id: DialogId {
                call_id: format!("call-{id}"),
                local_tag: "ltag".into(),
                remote_tag: "rtag".into(),
            },
            local_cseq: 1,
            remote_cseq: 1,
            local_uri: format!("sip:{resource}"),
            remote_uri: format!("sip:{watcher}"),
            remote_target: "sip:w@192.0.2.1:5060".into(),
            local_contact: "sip:presence@192.0.2.100:5060".into(),
            route_set: Vec::new(),
            secure: false,
        },
        state: SubscriptionState::Pending,
        expires_at: ts(expires_at),
        source: None,
        winfo_version: 0,
        created_at: ts(0),
    }
}

/// A terminated subscription with every optional field set, at their extremes.
pub fn full_subscription(id: &str, watcher: &str, resource: &str, expires_at: u64) -> Subscription {
    let mut s = subscription(id, watcher, resource, expires_at);
    s.watcher_display_name = Some("Bob \"Ünïcode\" Builder".into());
    s.dialog.id.call_id = "a84b4c76e66710@pc33.example.test".into();
    s.dialog.local_cseq = u32::MAX - 1;
    s.dialog.remote_cseq = u32::MAX;
    s.dialog.route_set = vec![
        "<sips:p1.example.test;lr>".into(),
        "<sips:p2.example.test;lr;ftag=x>".into(),
    ];
    s.dialog.secure = true;
    s.state = SubscriptionState::Terminated {
        reason: Some("timeout".into()),
    };
    s.source = Some(Source {
        transport: "wss".into(),
        address: "[2001:db8::1]:5061".parse::<SocketAddr>().unwrap(),
        connection_id: Some(u64::MAX),
    });
    s.winfo_version = u32::MAX;
    s.created_at = ts(1_234);
    s
}

/// One `#[test]` per conformance case, on the store made by `$fixture`.
#[macro_export]
macro_rules! conformance_suite {
    ($fixture:expr) => {
        $crate::conformance_suite!(@cases $fixture;
            users::add_get_list,
            users::adding_an_existing_user_changes_nothing,
            users::invalid_values_are_refused,
            users::set_ha1_replaces_the_hashes,
            users::remove_user_takes_bindings_and_messages,
            registrations::bindings_round_trip_every_field,
            registrations::upsert_replaces_by_contact,
            registrations::liveness_boundary,
            registrations::update_bindings_applies_in_order,
            registrations::update_bindings_is_all_or_nothing,
            registrations::remove_binding_and_remove_all,
            registrations::purge_returns_what_it_removed,
            registrations::aors_are_isolated,
            registrations::register_plans_on_the_live_bindings,
            messages::pending_in_order_with_exact_bytes,
            messages::per_recipient_cap,
            messages::delete_by_id,
            messages::delivery_attempts_and_due_messages,
            messages::invalid_messages_are_refused,
            publications::publications_round_trip_and_list_live,
            publications::duplicate_and_invalid_publications_are_refused,
            publications::refresh_and_modify_change_the_entity_tag,
            publications::expired_publications_answer_expired_until_purged,
            publications::remove_publication_returns_it,
            publications::submitted_publication_writes_answer_as_the_calls,
            subscriptions::subscriptions_round_trip_every_field,
            subscriptions::lookups_by_resource_and_watcher,
            subscriptions::duplicates_and_invalid_subscriptions_are_refused,
            subscriptions::per_watcher_limit_counts_live_subscriptions,
            subscriptions::update_refreshes_state_expiry_and_target,
            subscriptions::local_cseq_and_winfo_version,
            subscriptions::remove_and_purge_subscriptions,
            subscriptions::submitted_subscription_writes_answer_as_the_calls,
            authorizations::set_get_list_remove,
            restore::sharded_subscriptions_are_the_live_ones_split_in_order,
            restore::all_authorizations_and_binding_expiries_at_once,
            authorizations::remove_user_takes_their_authorizations,
        );
    };
    (@cases $fixture:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let (store, _guard) = $fixture;
                $crate::conformance::$module::$case(&store);
            }
        )*
    };
}
