use super::*;
use bytes::Bytes;
use parley_sip::Limits;

const NOW: u64 = 1_700_000_000;

fn settings() -> RegistrarSettings {
    RegistrarSettings {
        min_expires: 60,
        max_expires: 7200,
        default_expires: 3600,
        max_contacts: 3,
        ..RegistrarSettings::default()
    }
}

fn register(extra: &str, cseq: u32) -> RegisterRequest {
    let text = format!(
        "REGISTER sip:example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:alice@example.com>;tag=a\r\n\
         To: <sip:alice@example.com>\r\n\
         Call-ID: call-1\r\n\
         CSeq: {cseq} REGISTER\r\n\
         {extra}Content-Length: 0\r\n\r\n"
    );
    let msg = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
    msg.validate().unwrap();
    RegisterRequest::read(&msg).unwrap()
}

fn origin() -> Origin {
    Origin {
        aor: Address::parse("alice@example.com").unwrap(),
        source: Source {
            transport: "udp".into(),
            address: "192.0.2.1:5060".parse().unwrap(),
            connection_id: None,
        },
        now: Timestamp::from_unix_secs(NOW),
    }
}

fn existing(contact: &str, call_id: &str, cseq: u32) -> Binding {
    Binding {
        aor: origin().aor,
        contact: contact.into(),
        q: None,
        expires_at: Timestamp::from_unix_secs(NOW + 100),
        call_id: call_id.into(),
        cseq,
        instance_id: None,
        reg_id: None,
        path: Vec::new(),
        source: None,
        user_agent: None,
    }
}

fn upserts(changes: &[BindingChange]) -> Vec<(&str, u64, Option<u16>)> {
    changes
        .iter()
        .filter_map(|c| match c {
            BindingChange::Upsert(b) => {
                Some((b.contact.as_str(), b.expires_at.as_unix_secs() - NOW, b.q))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn intervals_come_from_the_parameter_then_the_header_then_the_default() {
    let r = register(
        "Contact: <sip:a@192.0.2.1>;expires=120, <sip:b@192.0.2.1>;q=0.5\r\nExpires: 300\r\n",
        1,
    );
    let changes = plan(&r, &[], &origin(), &settings()).unwrap();
    assert_eq!(
        upserts(&changes),
        [
            ("sip:a@192.0.2.1", 120, None),
            ("sip:b@192.0.2.1", 300, Some(500))
        ]
    );
    let r = register("Contact: <sip:a@192.0.2.1>\r\n", 1);
    let changes = plan(&r, &[], &origin(), &settings()).unwrap();
    assert_eq!(upserts(&changes), [("sip:a@192.0.2.1", 3600, None)]);
}

#[test]
fn too_brief_is_423_with_min_expires_and_too_long_is_shortened() {
    let r = register("Contact: <sip:a@192.0.2.1>;expires=59\r\n", 1);
    let refusal = plan(&r, &[], &origin(), &settings()).unwrap_err();
    assert_eq!((refusal.code, refusal.min_expires), (423, Some(60)));
    let r = register("Contact: <sip:a@192.0.2.1>\r\nExpires: 1\r\n", 1);
    assert_eq!(plan(&r, &[], &origin(), &settings()).unwrap_err().code, 423);
    let r = register("Contact: <sip:a@192.0.2.1>;expires=999999\r\n", 1);
    let changes = plan(&r, &[], &origin(), &settings()).unwrap();
    assert_eq!(upserts(&changes), [("sip:a@192.0.2.1", 7200, None)]);
    // A minimum above an hour is never applied to intervals of an hour or more (§10.3).
    let strict = RegistrarSettings {
        min_expires: 10_000,
        max_expires: 20_000,
        ..settings()
    };
    let r = register("Contact: <sip:a@192.0.2.1>;expires=3600\r\n", 1);
    assert!(plan(&r, &[], &origin(), &strict).is_ok());
}

#[test]
fn zero_removes_and_star_removes_all() {
    let r = register("Contact: <sip:a@192.0.2.1>;expires=0\r\n", 2);
    let old = [existing("sip:a@192.0.2.1", "call-1", 1)];
    assert_eq!(
        plan(&r, &old, &origin(), &settings()).unwrap(),
        [BindingChange::Remove {
            contact: "sip:a@192.0.2.1".into()
        }]
    );
    let r = register("Contact: *\r\nExpires: 0\r\n", 2);
    assert_eq!(
        plan(&r, &old, &origin(), &settings()).unwrap(),
        [BindingChange::RemoveAll]
    );
}

#[test]
fn star_needs_expires_zero_and_to_be_alone() {
    let r = register("Contact: *\r\n", 1);
    assert_eq!(plan(&r, &[], &origin(), &settings()).unwrap_err().code, 400);
    let r = register("Contact: *\r\nExpires: 60\r\n", 1);
    assert_eq!(plan(&r, &[], &origin(), &settings()).unwrap_err().code, 400);
    let text = "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\
                From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n\
                CSeq: 1 REGISTER\r\nContact: *\r\nContact: <sip:a@h>\r\nExpires: 0\r\n\r\n";
    let msg = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
    assert_eq!(RegisterRequest::read(&msg).unwrap_err().code, 400);
}

#[test]
fn same_call_id_needs_a_higher_cseq() {
    let old = [existing("sip:a@192.0.2.1", "call-1", 5)];
    for cseq in [4, 5] {
        let r = register("Contact: <sip:a@192.0.2.1>\r\n", cseq);
        assert_eq!(
            plan(&r, &old, &origin(), &settings()).unwrap_err().code,
            500
        );
        let r = register("Contact: *\r\nExpires: 0\r\n", cseq);
        assert_eq!(
            plan(&r, &old, &origin(), &settings()).unwrap_err().code,
            500
        );
    }
    let r = register("Contact: <sip:a@192.0.2.1>\r\n", 6);
    assert!(plan(&r, &old, &origin(), &settings()).is_ok());
    // Another Call-ID: the client restarted; any CSeq updates.
    let old = [existing("sip:a@192.0.2.1", "call-0", 50)];
    let r = register("Contact: <sip:a@192.0.2.1>\r\n", 1);
    assert!(plan(&r, &old, &origin(), &settings()).is_ok());
}

#[test]
fn no_contact_is_a_query() {
    let r = register("", 1);
    assert_eq!(r.contacts, RequestedContacts::None);
    assert!(plan(&r, &[], &origin(), &settings()).unwrap().is_empty());
}

#[test]
fn contacts_per_user_are_bounded() {
    let old = [
        existing("sip:a@192.0.2.1", "x", 1),
        existing("sip:b@192.0.2.1", "x", 1),
    ];
    let r = register("Contact: <sip:a@192.0.2.1>, <sip:c@192.0.2.1>\r\n", 1);
    assert!(plan(&r, &old, &origin(), &settings()).is_ok());
    let r = register("Contact: <sip:c@192.0.2.1>, <sip:d@192.0.2.1>\r\n", 1);
    assert_eq!(
        plan(&r, &old, &origin(), &settings()).unwrap_err().code,
        403
    );
}

#[test]
fn contacts_compare_with_a_lowercase_host_and_keep_instance_ids() {
    let r = register(
        "Contact: <sip:Alice@EXAMPLE.net;transport=tcp>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n",
        1,
    );
    let RequestedContacts::List(list) = &r.contacts else {
        panic!("contacts expected")
    };
    assert_eq!(list[0].uri, "sip:Alice@example.net;transport=tcp");
    assert_eq!(list[0].instance_id.as_deref(), Some("<urn:uuid:1>"));
    assert_eq!(list[0].reg_id, Some(1));
}

#[test]
fn the_200_lists_remaining_seconds_and_q() {
    let mut b = existing("sip:a@192.0.2.1", "x", 1);
    b.q = Some(700);
    b.expires_at = Timestamp::from_unix_millis(NOW * 1000 + 99_500);
    assert_eq!(
        contact_value(&b, Timestamp::from_unix_secs(NOW)),
        "<sip:a@192.0.2.1>;expires=100;q=0.7"
    );
    assert_eq!(format_q(1000), "1");
    assert_eq!(format_q(0), "0");
    assert_eq!(format_q(50), "0.05");
}

#[test]
fn a_contact_naming_this_server_is_refused_after_the_syntax_checks() {
    let request = |contacts: &str| {
        let text = format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n\
             CSeq: 1 REGISTER\r\n{contacts}\r\n"
        );
        Message::parse(Bytes::from(text), &Limits::default()).unwrap()
    };
    let is_us = |uri: &Uri| {
        uri.as_sip()
            .is_some_and(|s| s.host.to_string().eq_ignore_ascii_case("example.com"))
    };
    let ours = request("Contact: <sip:a@EXAMPLE.com>, <sip:a@192.0.2.1>\r\n");
    let refusal = RegisterRequest::read_refusing(&ours, is_us).unwrap_err();
    assert_eq!(
        (refusal.code, refusal.reason),
        (403, "Forbidden (contact points at this server)")
    );
    // A malformed field anywhere is reported first, as a 400.
    let both = request("Contact: <sip:a@example.com>\r\nExpires: soon\r\n");
    assert_eq!(
        RegisterRequest::read_refusing(&both, is_us)
            .unwrap_err()
            .code,
        400
    );
    let elsewhere = request("Contact: <sip:a@192.0.2.1>\r\n");
    assert!(RegisterRequest::read_refusing(&elsewhere, is_us).is_ok());
}
