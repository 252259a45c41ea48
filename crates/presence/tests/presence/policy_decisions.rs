//! Who may watch whom. The server default (`allow`, `same-domain`, `confirm`) applies when
//! nothing more specific is known; a stored authorization (the user approved or blocked the
//! watcher) overrides it; per-user rule sources (pres-rules later) plug in between; a user
//! always sees themself; winfo is for the user alone. Visibility narrows what is shown.

use parley_presence::{
    AuthorizationRules, Basic, Decision, Party, PolicyEngine, Presence, SubHandling,
    SubscriptionPolicy, Visibility,
};

const ALICE: Party<'static> = Party {
    user: "alice",
    domain: "example.test",
};
const BOB: Party<'static> = Party {
    user: "bob",
    domain: "EXAMPLE.test",
};
const MALLORY: Party<'static> = Party {
    user: "mallory",
    domain: "evil.test",
};

#[test]
fn server_defaults() {
    let allow = PolicyEngine::new(SubscriptionPolicy::Allow);
    assert_eq!(
        allow.decide(MALLORY, ALICE, None),
        Decision::Allow(Visibility::Full)
    );
    let same = PolicyEngine::new(SubscriptionPolicy::SameDomain);
    assert_eq!(
        same.decide(BOB, ALICE, None),
        Decision::Allow(Visibility::Full),
        "domains compare without case"
    );
    assert_eq!(
        same.decide(MALLORY, ALICE, None),
        Decision::Deny { polite: false }
    );
    let confirm = PolicyEngine::new(SubscriptionPolicy::Confirm);
    assert_eq!(confirm.decide(BOB, ALICE, None), Decision::Pending);
    assert_eq!(
        confirm.decide(ALICE, ALICE, None),
        Decision::Allow(Visibility::Full),
        "self"
    );
}

#[test]
fn stored_authorization_overrides_the_default() {
    let confirm = PolicyEngine::new(SubscriptionPolicy::Confirm);
    assert_eq!(
        confirm.decide(BOB, ALICE, Some(SubHandling::Allow)),
        Decision::Allow(Visibility::Full)
    );
    assert_eq!(
        confirm.decide(BOB, ALICE, Some(SubHandling::Block)),
        Decision::Deny { polite: false }
    );
    assert_eq!(
        confirm.decide(BOB, ALICE, Some(SubHandling::PoliteBlock)),
        Decision::Deny { polite: true }
    );
    let allow = PolicyEngine::new(SubscriptionPolicy::Allow);
    assert_eq!(
        allow.decide(MALLORY, ALICE, Some(SubHandling::Block)),
        Decision::Deny { polite: false }
    );
}

/// A rule source like a pres-rules document: Mallory is blocked politely, colleagues in
/// example.test see basic status only, everyone else: no opinion.
#[derive(Debug)]
struct Rules;

impl AuthorizationRules for Rules {
    fn evaluate(
        &self,
        watcher: Party<'_>,
        _presentity: Party<'_>,
    ) -> Option<(SubHandling, Visibility)> {
        if watcher.user == "mallory" {
            Some((SubHandling::PoliteBlock, Visibility::Full))
        } else if watcher.domain.eq_ignore_ascii_case("example.test") {
            Some((SubHandling::Allow, Visibility::BasicOnly))
        } else {
            None
        }
    }
}

#[test]
fn rule_sources_plug_in() {
    let engine = PolicyEngine::new(SubscriptionPolicy::Confirm).with_rules(Box::new(Rules));
    assert_eq!(
        engine.decide(MALLORY, ALICE, None),
        Decision::Deny { polite: true }
    );
    assert_eq!(
        engine.decide(BOB, ALICE, None),
        Decision::Allow(Visibility::BasicOnly)
    );
    let carol = Party::new("carol", "elsewhere.test");
    assert_eq!(
        engine.decide(carol, ALICE, None),
        Decision::Pending,
        "no rule: server default"
    );
    assert_eq!(
        engine.decide(BOB, ALICE, Some(SubHandling::Allow)),
        Decision::Allow(Visibility::Full)
    );
}

#[test]
fn visibility_transforms_the_document() {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/blink.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let doc = Presence::parse(&body).unwrap();
    assert_eq!(Visibility::Full.apply(&doc), doc);
    let basic = Visibility::BasicOnly.apply(&doc);
    assert!(basic.persons.is_empty() && basic.devices.is_empty());
    assert_eq!(basic.tuples.len(), 1);
    assert_eq!(basic.tuples[0].status.basic, Some(Basic::Open));
    assert!(basic.tuples[0].status.extensions.is_empty() && basic.tuples[0].notes.is_empty());
    assert_eq!(basic.tuples[0].contact, doc.tuples[0].contact);
}

#[test]
fn winfo_is_for_the_user_alone() {
    let engine = PolicyEngine::new(SubscriptionPolicy::Allow);
    assert_eq!(
        engine.decide_winfo(ALICE, ALICE),
        Decision::Allow(Visibility::Full)
    );
    assert_eq!(
        engine.decide_winfo(BOB, ALICE),
        Decision::Deny { polite: false }
    );
    let alice_other_case = Party::new("Alice", "example.test");
    assert_eq!(
        engine.decide_winfo(alice_other_case, ALICE),
        Decision::Deny { polite: false },
        "user parts keep case"
    );
}
