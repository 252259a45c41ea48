//! [`WatcherInfo`] ⇄ [`Element`] tree (RFC 3858 §6 schema).

use super::{DocState, Watcher, WatcherEvent, WatcherInfo, WatcherList, WatcherStatus};
use crate::error::ParseError;
use crate::ns::{WATCHERINFO, XML};
use crate::time::truncate;
use crate::xml::{Attribute, Element, Name};

fn required<'a>(
    el: &'a Element,
    element: &'static str,
    attribute: &'static str,
) -> Result<&'a str, ParseError> {
    el.attr(attribute)
        .ok_or(ParseError::MissingAttribute { element, attribute })
}

fn number<T: std::str::FromStr>(what: &'static str, s: &str) -> Result<T, ParseError> {
    s.trim().parse().map_err(|_| ParseError::InvalidValue {
        what,
        value: truncate(s),
    })
}

pub(super) fn read(root: &Element) -> Result<WatcherInfo, ParseError> {
    if !root.is(WATCHERINFO, "watcherinfo") {
        return Err(ParseError::WrongRoot {
            expected: "watcherinfo",
            found: root.name.local.clone(),
        });
    }
    let version = number(
        "watcherinfo version",
        required(root, "watcherinfo", "version")?,
    )?;
    let state = DocState::parse(required(root, "watcherinfo", "state")?)?;
    let mut info = WatcherInfo {
        version,
        state,
        lists: Vec::new(),
        extensions: Vec::new(),
    };
    for c in root.elements() {
        if c.is(WATCHERINFO, "watcher-list") {
            info.lists.push(list(c)?);
        } else {
            // RFC 3858 §4: elements from unknown namespaces are ignored; kept for printing.
            info.extensions.push(c.clone());
        }
    }
    Ok(info)
}

fn list(el: &Element) -> Result<WatcherList, ParseError> {
    let mut out = WatcherList {
        resource: required(el, "watcher-list", "resource")?.trim().to_owned(),
        package: required(el, "watcher-list", "package")?.trim().to_owned(),
        watchers: Vec::new(),
    };
    for c in el.elements().filter(|c| c.is(WATCHERINFO, "watcher")) {
        out.watchers.push(watcher(c)?);
    }
    Ok(out)
}

fn watcher(el: &Element) -> Result<Watcher, ParseError> {
    let opt_num = |name: &'static str| el.attr(name).map(|v| number::<u64>(name, v)).transpose();
    Ok(Watcher {
        id: required(el, "watcher", "id")?.to_owned(),
        uri: el.text().trim().to_owned(),
        status: WatcherStatus::parse(required(el, "watcher", "status")?)?,
        event: WatcherEvent::parse(required(el, "watcher", "event")?)?,
        display_name: el.attr("display-name").map(str::to_owned),
        expiration: opt_num("expiration")?,
        duration_subscribed: opt_num("duration-subscribed")?,
        lang: el.lang().map(str::to_owned),
    })
}

pub(super) fn write(info: &WatcherInfo) -> Element {
    let mut root = Element::new(WATCHERINFO, "watcherinfo")
        .with_attr("version", info.version.to_string())
        .with_attr("state", info.state.as_str());
    for l in &info.lists {
        let mut el = Element::new(WATCHERINFO, "watcher-list")
            .with_attr("resource", l.resource.clone())
            .with_attr("package", l.package.clone());
        for w in &l.watchers {
            let mut we = Element::new(WATCHERINFO, "watcher")
                .with_attr("id", w.id.clone())
                .with_attr("status", w.status.as_str())
                .with_attr("event", w.event.as_str())
                .with_opt_attr("display-name", w.display_name.as_deref())
                .with_opt_attr("expiration", w.expiration.map(|e| e.to_string()).as_deref())
                .with_opt_attr(
                    "duration-subscribed",
                    w.duration_subscribed.map(|d| d.to_string()).as_deref(),
                );
            if let Some(lang) = &w.lang {
                we.attributes.push(Attribute {
                    name: Name::new(XML, "lang"),
                    value: lang.clone(),
                });
            }
            el = el.with_child(we.with_text(w.uri.clone()));
        }
        root = root.with_child(el);
    }
    for e in &info.extensions {
        root = root.with_child(e.clone());
    }
    root
}
