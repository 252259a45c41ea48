//! Hostile or broken bodies are refused before they cost memory, with a reason that can go into
//! a `400` reason phrase: too large, too deep, too many elements or attributes, not XML, not
//! UTF-8, undeclared prefixes, DOCTYPE and unknown entities, wrong root, missing or invalid
//! required parts. Nothing panics.

use parley_presence::{Limits, ParseError, Presence};

fn err(body: &str) -> ParseError {
    Presence::parse(body.as_bytes()).unwrap_err()
}

const OK: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><tuple id="t"><status><basic>open</basic></status></tuple></presence>"#;

#[test]
fn size_depth_and_counts() {
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        Presence::parse_with(OK.as_bytes(), &limits).unwrap_err(),
        ParseError::TooLarge {
            size: OK.len(),
            limit: 100
        }
    );

    let deep = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf">{}{}</presence>"#,
        "<x:a xmlns:x=\"urn:x\">".repeat(40),
        "</x:a>".repeat(40)
    );
    assert_eq!(err(&deep), ParseError::TooDeep { limit: 24 });

    let many = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf">{}</presence>"#,
        "<note>n</note>".repeat(2500)
    );
    assert_eq!(err(&many), ParseError::TooManyElements { limit: 2000 });

    let attrs: String = (0..40).map(|i| format!(" a{i}=\"v\"")).collect();
    let wide = format!(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"{attrs}/>"#);
    assert_eq!(err(&wide), ParseError::TooManyAttributes { limit: 32 });
    assert_eq!(
        err(&wide).to_string(),
        "more than 32 attributes on one element"
    );
}

#[test]
fn broken_xml() {
    assert!(matches!(
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple></presence>"#),
        ParseError::Malformed { .. }
    ));
    assert!(matches!(
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf""#),
        ParseError::Malformed { .. }
    ));
    assert!(matches!(
        err(r#"<presence a="1" a="2"/>"#),
        ParseError::Malformed { .. }
    ));
    assert_eq!(err(""), ParseError::NoRoot);
    assert_eq!(
        err(&format!("{OK}<presence/>")),
        ParseError::TrailingContent
    );
    assert_eq!(err(&format!("{OK}junk")), ParseError::TrailingContent);
    assert_eq!(
        Presence::parse(b"<presence>\xff</presence>").unwrap_err(),
        ParseError::NotUtf8
    );
    assert_eq!(
        err(r#"<p:presence entity="x"/>"#),
        ParseError::UndeclaredPrefix("p".into())
    );
    let doctype = r#"<!DOCTYPE lolz [<!ENTITY lol "lol">]><presence xmlns="urn:ietf:params:xml:ns:pidf">&lol;</presence>"#;
    assert_eq!(err(doctype), ParseError::DocType);
    assert_eq!(
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><note>&lol;</note></presence>"#),
        ParseError::UnknownEntity("lol".into())
    );
    assert_eq!(
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&lol;"/>"#),
        ParseError::UnknownEntity("lol".into())
    );
    assert_eq!(
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><note>&#1;</note></presence>"#)
            .to_string(),
        "invalid character `U+0001`"
    );
    assert_eq!(
        err("<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"\u{1b}\"/>").to_string(),
        "invalid character `U+001B`"
    );
    // Character references and the predefined entities are fine; a BOM is skipped.
    let doc =
        Presence::parse(format!("\u{feff}{}", OK.replace("sip:a@b", "sip:&#97;&amp;b")).as_bytes())
            .unwrap();
    assert_eq!(doc.entity.as_deref(), Some("sip:a&b"));
}

#[test]
fn schema_violations_are_named() {
    let e = err(r#"<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo"/>"#);
    assert_eq!(
        e.to_string(),
        "root element is <watcherinfo>, expected <presence>"
    );
    let e = err(r#"<presence xmlns="urn:x"/>"#);
    assert!(matches!(e, ParseError::WrongRoot { .. }));
    let e =
        err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple><status/></tuple></presence>"#);
    assert_eq!(e.to_string(), "<tuple> lacks the required `id` attribute");
    let e = err(r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="t"/></presence>"#);
    assert_eq!(e.to_string(), "<tuple> lacks the required <status> element");
    assert_eq!(
        err(&OK.replace("open", "maybe")).to_string(),
        "invalid basic status `maybe`"
    );
    let e = err(&OK.replace("</status>", "</status><timestamp>yesterday</timestamp>"));
    assert_eq!(e.to_string(), "invalid dateTime `yesterday`");
    let e = err(&OK.replace(
        "</status>",
        "</status><contact priority=\"2\">sip:x</contact>",
    ));
    assert_eq!(e.to_string(), "invalid contact priority `2`");
    // Found by fuzzing: a second contact kept as an extension would swap places on printing.
    let e = err(&OK.replace(
        "</status>",
        "</status><contact>sip:a</contact><contact>sip:b</contact>",
    ));
    assert_eq!(e.to_string(), "<tuple> has more than one <contact>");
    let e = err(&OK.replace("</status>", "</status><timestamp>2005-05-30T16:09:44Z</timestamp><timestamp>2005-05-30T16:09:44Z</timestamp>"));
    assert_eq!(e.to_string(), "<tuple> has more than one <timestamp>");
    let two = OK.replace("</tuple>", "</tuple><tuple id=\"t\"><status/></tuple>");
    assert_eq!(err(&two).to_string(), "duplicate tuple id `t`");
    let e = err(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"><dm:person/></presence>"#,
    );
    assert_eq!(e.to_string(), "<person> lacks the required `id` attribute");
}

#[test]
fn extension_elements_of_the_wrong_shape_are_kept_verbatim() {
    // An RPID activities element with a bad `from` and a mood with an attribute on a value:
    // not typed, but not lost either.
    let body = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid">
      <dm:person id="p"><r:activities from="soon"><r:away/></r:activities><r:mood><r:happy x="1"/></r:mood><r:user-input>sleepy</r:user-input></dm:person></presence>"#;
    let doc = Presence::parse(body.as_bytes()).unwrap();
    let p = &doc.persons[0];
    assert!(p.details.activities.is_empty());
    assert_eq!(p.extensions[0].name.local, "activities");
    assert_eq!(p.extensions[1].name.local, "user-input");
    assert!(
        matches!(&p.details.mood[0].items[0], parley_presence::details::Item::Extension(e) if e.attr("x") == Some("1"))
    );
    assert_eq!(Presence::parse(doc.to_xml().as_bytes()).unwrap(), doc);
}
