//! The enumerated values of RPID (RFC 4480 §3): each is an empty element in the RPID namespace,
//! e.g. `<rpid:away/>`. Values outside these lists are kept as extension elements.

/// An enumerated RPID value: the local name of an empty element in the RPID namespace.
pub trait Keyword: Sized + Clone + PartialEq + Eq + std::fmt::Debug {
    /// The value for `local`, if it is one of the enumeration.
    fn from_local(local: &str) -> Option<Self>;
    /// The element's local name.
    fn local(&self) -> &'static str;
    /// Every value, in schema order (used by tests and generators).
    fn all() -> &'static [Self];
}

macro_rules! keywords {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* #[doc = concat!("`<rpid:", $text, "/>`")] $variant,)*
        }

        impl Keyword for $name {
            fn from_local(local: &str) -> Option<Self> {
                match local {
                    $($text => Some(Self::$variant),)*
                    _ => None,
                }
            }
            fn local(&self) -> &'static str {
                match *self {
                    $(Self::$variant => $text,)*
                }
            }
            fn all() -> &'static [Self] {
                &[$(Self::$variant,)*]
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            /// Parses the element name, e.g. `on-the-phone`.
            fn from_str(s: &str) -> Result<Self, ()> {
                <Self as Keyword>::from_local(s).ok_or(())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.local())
            }
        }
    };
}

keywords! {
    /// What the person is doing (RFC 4480 §3.2 `<activities>`).
    Activity {
        Appointment = "appointment",
        Away = "away",
        Breakfast = "breakfast",
        Busy = "busy",
        Dinner = "dinner",
        Holiday = "holiday",
        InTransit = "in-transit",
        LookingForWork = "looking-for-work",
        Meal = "meal",
        Meeting = "meeting",
        OnThePhone = "on-the-phone",
        Performance = "performance",
        PermanentAbsence = "permanent-absence",
        Playing = "playing",
        Presentation = "presentation",
        Shopping = "shopping",
        Sleeping = "sleeping",
        Spectator = "spectator",
        Steering = "steering",
        Travel = "travel",
        Tv = "tv",
        Vacation = "vacation",
        Working = "working",
        Worship = "worship",
        /// Nothing is known about the activity.
        Unknown = "unknown",
    }
}

keywords! {
    /// The mood of the person (RFC 4480 §3.5 `<mood>`).
    MoodValue {
        Afraid = "afraid", Amazed = "amazed", Angry = "angry", Annoyed = "annoyed",
        Anxious = "anxious", Ashamed = "ashamed", Bored = "bored", Brave = "brave",
        Calm = "calm", Cold = "cold", Confused = "confused", Contented = "contented",
        Cranky = "cranky", Curious = "curious", Depressed = "depressed",
        Disappointed = "disappointed", Disgusted = "disgusted", Distracted = "distracted",
        Embarrassed = "embarrassed", Excited = "excited", Flirtatious = "flirtatious",
        Frustrated = "frustrated", Grumpy = "grumpy", Guilty = "guilty", Happy = "happy",
        Hot = "hot", Humbled = "humbled", Humiliated = "humiliated", Hungry = "hungry",
        Hurt = "hurt", Impressed = "impressed", InAwe = "in_awe", InLove = "in_love",
        Indignant = "indignant", Interested = "interested", Invincible = "invincible",
        Jealous = "jealous", Lonely = "lonely", Mean = "mean", Moody = "moody",
        Nervous = "nervous", Neutral = "neutral", Offended = "offended", Playful = "playful",
        Proud = "proud", Relieved = "relieved", Remorseful = "remorseful",
        Restless = "restless", Sad = "sad", Sarcastic = "sarcastic", Serious = "serious",
        Shocked = "shocked", Shy = "shy", Sick = "sick", Sleepy = "sleepy",
        Stressed = "stressed", Surprised = "surprised", Thirsty = "thirsty",
        Worried = "worried",
        /// The mood is not known.
        Unknown = "unknown",
    }
}

keywords! {
    /// Media a bystander is unlikely to overhear (RFC 4480 §3.9 `<privacy>`).
    PrivacyValue {
        Audio = "audio",
        Text = "text",
        Video = "video",
        Unknown = "unknown",
    }
}

keywords! {
    /// The role the person is in (RFC 4480 §3.11 `<sphere>`).
    SphereValue {
        Home = "home",
        Work = "work",
        Unknown = "unknown",
    }
}

keywords! {
    /// How an alternate contact relates to the presentity (RFC 4480 §3.10 `<relationship>`).
    RelationshipValue {
        Assistant = "assistant",
        Associate = "associate",
        Family = "family",
        Friend = "friend",
        /// The contact is the presentity.
        SelfContact = "self",
        Supervisor = "supervisor",
        Unknown = "unknown",
    }
}

keywords! {
    /// The kind of service offered (RFC 4480 §3.12 `<service-class>`).
    ServiceClassValue {
        Courier = "courier",
        Electronic = "electronic",
        Freight = "freight",
        InPerson = "in-person",
        Postal = "postal",
        Unknown = "unknown",
    }
}

keywords! {
    /// RPID defines no values for `<place-type>` (RFC 4480 §3.7); they come from other
    /// namespaces (RFC 4589 location types) and are kept as extension elements.
    PlaceTypeValue {}
}
