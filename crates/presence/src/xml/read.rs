//! Bytes → [`Element`] tree, with the [`Limits`] checked as the reader goes.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{Attribute, Element, Limits, Name, Node};
use crate::error::ParseError;

/// Parses one XML document into its root element.
pub(crate) fn parse_tree(bytes: &[u8], limits: &Limits) -> Result<Element, ParseError> {
    if bytes.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ParseError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = false;
    reader.config_mut().check_end_names = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => return Err(malformed(&reader, &e)),
        };
        match event {
            Event::Start(start) => {
                let el = open(
                    &reader,
                    &start,
                    limits,
                    &mut count,
                    stack.len(),
                    root.is_some(),
                )?;
                stack.push(el);
            }
            Event::Empty(start) => {
                let el = open(
                    &reader,
                    &start,
                    limits,
                    &mut count,
                    stack.len(),
                    root.is_some(),
                )?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => match stack.pop() {
                Some(el) => close(el, &mut stack, &mut root),
                None => return Err(ParseError::TrailingContent),
            },
            Event::Text(t) => {
                let s = t.decode().map_err(|e| malformed(&reader, &e.into()))?;
                push_text(&mut stack, &s)?;
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| malformed(&reader, &e.into()))?;
                push_text(&mut stack, &s)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| malformed(&reader, &e.into()))?;
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => predefined(&name)
                        .ok_or_else(|| ParseError::UnknownEntity(name.to_string()))?,
                    Err(e) => return Err(malformed(&reader, &e)),
                };
                push_text(&mut stack, ch.encode_utf8(&mut [0u8; 4]))?;
            }
            Event::DocType(_) => return Err(ParseError::DocType),
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::Malformed {
            position: reader.buffer_position(),
            reason: "document ends inside an element".into(),
        });
    }
    root.ok_or(ParseError::NoRoot)
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn malformed<R>(reader: &NsReader<R>, e: &quick_xml::Error) -> ParseError {
    ParseError::Malformed {
        position: reader.error_position(),
        reason: e.to_string(),
    }
}

/// XML 1.0 §2.2 `Char`: what a document may contain, raw or as a character reference.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn check_chars(s: &str) -> Result<(), ParseError> {
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(ParseError::InvalidValue {
            what: "character",
            value: format!("U+{:04X}", u32::from(c)),
        }),
        None => Ok(()),
    }
}

fn push_text(stack: &mut [Element], s: &str) -> Result<(), ParseError> {
    check_chars(s)?;
    let Some(top) = stack.last_mut() else {
        // Outside the root only whitespace may appear.
        return if s.chars().all(char::is_whitespace) {
            Ok(())
        } else {
            Err(ParseError::TrailingContent)
        };
    };
    if let Some(Node::Text(t)) = top.children.last_mut() {
        t.push_str(s);
    } else if !s.is_empty() {
        top.children.push(Node::Text(s.to_owned()));
    }
    Ok(())
}

fn close(mut el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    if el.has_element_children() {
        el.children
            .retain(|n| !matches!(n, Node::Text(t) if t.chars().all(char::is_whitespace)));
    }
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn resolved(r: ResolveResult<'_>) -> Result<String, ParseError> {
    match r {
        // The reader hands over the declaration's value as written: resolve its references.
        ResolveResult::Bound(ns) => {
            let raw = std::str::from_utf8(ns.as_ref()).map_err(|_| ParseError::NotUtf8)?;
            let value = quick_xml::escape::unescape(raw).map_err(|e| match e {
                quick_xml::escape::EscapeError::UnrecognizedEntity(_, n) => {
                    ParseError::UnknownEntity(n)
                }
                other => ParseError::Malformed {
                    position: 0,
                    reason: other.to_string(),
                },
            })?;
            check_chars(&value)?;
            // Reserved for declarations (Namespaces in XML §3); the reader only checks the raw
            // spelling, so an escaped spelling must be caught here.
            if value == "http://www.w3.org/2000/xmlns/" {
                return Err(ParseError::Malformed {
                    position: 0,
                    reason: "the xmlns namespace names no element or attribute".into(),
                });
            }
            Ok(value.into_owned())
        }
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(ParseError::UndeclaredPrefix(
            String::from_utf8_lossy(&p).into_owned(),
        )),
    }
}

/// A local name must be an NCName (Namespaces in XML §3): the reader accepts `<p:>` or `<a:b:c>`,
/// which could not be printed back.
fn local_name(b: &[u8]) -> Result<String, ParseError> {
    let name = utf8(b)?;
    let mut chars = name.chars();
    let start_ok = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || !c.is_ascii());
    let rest_ok = chars.all(|c| {
        c.is_alphanumeric() || matches!(c, '-' | '.' | '_') || (!c.is_ascii() && is_xml_char(c))
    });
    if start_ok && rest_ok {
        Ok(name)
    } else {
        Err(ParseError::InvalidValue {
            what: "XML name",
            value: crate::time::truncate(&name),
        })
    }
}

fn utf8(b: &[u8]) -> Result<String, ParseError> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| ParseError::NotUtf8)
}

fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    limits: &Limits,
    count: &mut usize,
    depth: usize,
    have_root: bool,
) -> Result<Element, ParseError> {
    if depth == 0 && have_root {
        return Err(ParseError::TrailingContent);
    }
    if depth + 1 > limits.max_depth {
        return Err(ParseError::TooDeep {
            limit: limits.max_depth,
        });
    }
    *count += 1;
    if *count > limits.max_elements {
        return Err(ParseError::TooManyElements {
            limit: limits.max_elements,
        });
    }
    let (ns, local) = reader.resolve_element(start.name());
    let name = Name {
        namespace: resolved(ns)?,
        local: local_name(local.as_ref())?,
    };
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(reader, &e.into()))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        if attributes.len() == limits.max_attributes {
            return Err(ParseError::TooManyAttributes {
                limit: limits.max_attributes,
            });
        }
        let (ns, local) = reader.resolve_attribute(attr.key);
        let name = Name {
            namespace: resolved(ns)?,
            local: local_name(local.as_ref())?,
        };
        let value = match attr.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(
                _,
                n,
            ))) => return Err(ParseError::UnknownEntity(n)),
            Err(e) => return Err(malformed(reader, &e)),
        };
        check_chars(&value)?;
        attributes.push(Attribute { name, value });
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
    })
}
