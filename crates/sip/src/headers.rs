//! The header section: an ordered list of fields, kept as received.

use crate::header_name::HeaderName;
use bytes::Bytes;

/// One header field line. `value` is the unfolded value without surrounding whitespace; it
/// shares the received buffer unless the line was folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: Bytes,
}

impl Header {
    pub fn new(name: HeaderName, value: impl Into<Bytes>) -> Header {
        Header {
            name,
            value: value.into(),
        }
    }

    /// The value as text, if it is UTF-8 (RFC 3261 header values are UTF-8 throughout).
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// The header fields of a message, in order (RFC 3261 §7.3.1 makes the relative order of
/// fields with the same name significant, and proxies must not reorder others either).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    pub fn with_capacity(n: usize) -> Headers {
        Headers {
            list: Vec::with_capacity(n),
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every field named `name`, in order.
    pub fn all(&self, name: &HeaderName) -> impl Iterator<Item = &Header> + '_ {
        let name = name.clone();
        self.list.iter().filter(move |h| h.name == name)
    }

    /// The first field named `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&Header> {
        self.list.iter().find(|h| &h.name == name)
    }

    /// The first field named `name`, as text.
    pub fn get_str(&self, name: &HeaderName) -> Option<&str> {
        self.get(name).and_then(Header::value_str)
    }

    pub fn count(&self, name: &HeaderName) -> usize {
        self.all(name).count()
    }

    pub fn push(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.list.push(Header::new(name, value));
    }

    /// Inserts before every existing field (a proxy adding its Via or Record-Route on top).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        self.list.insert(0, Header::new(name, value));
    }

    /// Replaces all fields named `name` by one, keeping the position of the first.
    pub fn set(&mut self, name: HeaderName, value: impl Into<Bytes>) {
        let value = value.into();
        match self.list.iter().position(|h| h.name == name) {
            Some(i) => {
                self.list[i].value = value;
                let mut seen = 0usize;
                self.list.retain(|h| {
                    if h.name == name {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.list.push(Header::new(name, value)),
        }
    }

    pub fn remove_all(&mut self, name: &HeaderName) {
        self.list.retain(|h| &h.name != name);
    }

    /// Removes the first field named `name` and returns it.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<Header> {
        let i = self.list.iter().position(|h| &h.name == name)?;
        Some(self.list.remove(i))
    }

    /// The first field named `name`, for editing in place.
    pub fn first_mut(&mut self, name: &HeaderName) -> Option<&mut Header> {
        self.list.iter_mut().find(|h| &h.name == name)
    }

    pub(crate) fn push_header(&mut self, h: Header) {
        self.list.push(h);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
