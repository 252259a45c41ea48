//! The typed extension elements that may appear in a person, device or service (tuple):
//! RPID (RFC 4480), CIPID (RFC 4482) and timed status (RFC 4481), gathered in [`Details`].

mod keywords;
mod rpid;
mod timed;

pub use keywords::{
    Activity, Keyword, MoodValue, PlaceTypeValue, PrivacyValue, RelationshipValue,
    ServiceClassValue, SphereValue,
};
pub use rpid::{Enumerated, InputState, Item, StatusIcon, TimeOffset, UserInput, Validity};
pub use timed::TimedStatus;

use crate::ns::{CIPID, RPID, TIMED_STATUS};
use crate::xml::Element;
use rpid::simple_text;

/// `<rpid:activities>` (RFC 4480 §3.2).
pub type Activities = Enumerated<Activity>;
/// `<rpid:mood>` (RFC 4480 §3.5).
pub type Mood = Enumerated<MoodValue>;
/// `<rpid:place-type>` (RFC 4480 §3.7).
pub type PlaceType = Enumerated<PlaceTypeValue>;
/// `<rpid:privacy>` (RFC 4480 §3.9).
pub type Privacy = Enumerated<PrivacyValue>;
/// `<rpid:sphere>` (RFC 4480 §3.11).
pub type Sphere = Enumerated<SphereValue>;
/// `<rpid:relationship>` (RFC 4480 §3.10).
pub type Relationship = Enumerated<RelationshipValue>;
/// `<rpid:service-class>` (RFC 4480 §3.12).
pub type ServiceClass = Enumerated<ServiceClassValue>;

/// RPID, CIPID and timed-status elements of one person, device or tuple. Elements that occur
/// several times (e.g. activities over different time ranges) are lists; single-valued ones
/// are options, and a second occurrence is kept verbatim among the owner's extensions.
/// Printed in the order of the fields below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// `<rpid:activities>`.
    pub activities: Vec<Activities>,
    /// `<rpid:class>` (RFC 4480 §3.3): a token grouping elements of one kind.
    pub class: Option<String>,
    /// `<rpid:mood>`.
    pub mood: Vec<Mood>,
    /// `<rpid:place-type>`.
    pub place_type: Vec<PlaceType>,
    /// `<rpid:privacy>`.
    pub privacy: Vec<Privacy>,
    /// `<rpid:relationship>`.
    pub relationship: Option<Relationship>,
    /// `<rpid:service-class>`.
    pub service_class: Option<ServiceClass>,
    /// `<rpid:sphere>`.
    pub sphere: Vec<Sphere>,
    /// `<rpid:status-icon>`.
    pub status_icon: Vec<StatusIcon>,
    /// `<rpid:time-offset>`.
    pub time_offset: Vec<TimeOffset>,
    /// `<rpid:user-input>`.
    pub user_input: Vec<UserInput>,
    /// `<c:card>` (RFC 4482 §3.1): URI of a business card.
    pub card: Option<String>,
    /// `<c:display-name>` (RFC 4482 §3.2).
    pub display_name: Option<String>,
    /// `<c:homepage>` (RFC 4482 §3.3).
    pub homepage: Option<String>,
    /// `<c:icon>` (RFC 4482 §3.4): URI of an image of the person.
    pub icon: Option<String>,
    /// `<c:map>` (RFC 4482 §3.5).
    pub map: Option<String>,
    /// `<c:sound>` (RFC 4482 §3.6).
    pub sound: Option<String>,
    /// `<ts:timed-status>` (RFC 4481 §3).
    pub timed_status: Vec<TimedStatus>,
}

fn set_once(slot: &mut Option<String>, value: Option<String>) -> bool {
    match (slot.is_none(), value) {
        (true, Some(v)) => {
            *slot = Some(v);
            true
        }
        _ => false,
    }
}

fn uri(el: &Element) -> Option<String> {
    if !el.attributes.is_empty() {
        return None;
    }
    simple_text(el).map(|t| t.trim().to_owned())
}

fn push<T>(list: &mut Vec<T>, value: Option<T>) -> bool {
    value.map(|v| list.push(v)).is_some()
}

impl Details {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Details::default()
    }

    /// Takes `el` into the typed fields if it is one of them and has its schema's shape;
    /// `false` means the caller keeps it as an extension.
    pub(crate) fn absorb(&mut self, el: &Element) -> bool {
        let local = el.name.local.as_str();
        match el.name.namespace.as_str() {
            RPID => match local {
                "activities" => push(&mut self.activities, Enumerated::read(el)),
                "class" => set_once(&mut self.class, uri(el)),
                "mood" => push(&mut self.mood, Enumerated::read(el)),
                "place-type" => push(&mut self.place_type, Enumerated::read(el)),
                "privacy" => push(&mut self.privacy, Enumerated::read(el)),
                "relationship" if self.relationship.is_none() => {
                    self.relationship = Enumerated::read(el);
                    self.relationship.is_some()
                }
                "service-class" if self.service_class.is_none() => {
                    self.service_class = Enumerated::read(el);
                    self.service_class.is_some()
                }
                "sphere" => push(&mut self.sphere, Enumerated::read(el)),
                "status-icon" => push(&mut self.status_icon, StatusIcon::read(el)),
                "time-offset" => push(&mut self.time_offset, TimeOffset::read(el)),
                "user-input" => push(&mut self.user_input, UserInput::read(el)),
                _ => false,
            },
            CIPID => match local {
                "card" => set_once(&mut self.card, uri(el)),
                "display-name" => {
                    let text = if el.attributes.is_empty() {
                        simple_text(el)
                    } else {
                        None
                    };
                    set_once(&mut self.display_name, text)
                }
                "homepage" => set_once(&mut self.homepage, uri(el)),
                "icon" => set_once(&mut self.icon, uri(el)),
                "map" => set_once(&mut self.map, uri(el)),
                "sound" => set_once(&mut self.sound, uri(el)),
                _ => false,
            },
            TIMED_STATUS if local == "timed-status" => {
                push(&mut self.timed_status, TimedStatus::read(el))
            }
            _ => false,
        }
    }

    /// The elements, in field order.
    pub(crate) fn write(&self, out: &mut Vec<Element>) {
        let text = |ns: &str, local: &str, v: &str| Element::new(ns, local).with_text(v.to_owned());
        out.extend(self.activities.iter().map(|a| a.write("activities")));
        out.extend(self.class.iter().map(|c| text(RPID, "class", c)));
        out.extend(self.mood.iter().map(|m| m.write("mood")));
        out.extend(self.place_type.iter().map(|p| p.write("place-type")));
        out.extend(self.privacy.iter().map(|p| p.write("privacy")));
        out.extend(self.relationship.iter().map(|r| r.write("relationship")));
        out.extend(self.service_class.iter().map(|s| s.write("service-class")));
        out.extend(self.sphere.iter().map(|s| s.write("sphere")));
        out.extend(self.status_icon.iter().map(StatusIcon::write));
        out.extend(self.time_offset.iter().map(TimeOffset::write));
        out.extend(self.user_input.iter().map(UserInput::write));
        for (local, v) in [
            ("card", &self.card),
            ("display-name", &self.display_name),
            ("homepage", &self.homepage),
            ("icon", &self.icon),
            ("map", &self.map),
            ("sound", &self.sound),
        ] {
            out.extend(v.iter().map(|v| text(CIPID, local, v)));
        }
        out.extend(self.timed_status.iter().map(TimedStatus::write));
    }
}
