//! [`Element`] tree → bytes. Printing is a pure function of the tree: every namespace gets its
//! canonical prefix (or `ns1`, `ns2`, … in order of first use), all declared once on the root,
//! and the document's own namespace is the default namespace so its elements go unprefixed.

use std::fmt::Write as _;

use super::{Element, Node};
use crate::ns::{CANONICAL_PREFIXES, XML};

/// Prints `root` as a complete document; the root's namespace is the default namespace.
pub(crate) fn write_document(root: &Element) -> String {
    let default_ns = root.name.namespace.as_str();
    let mut prefixes = Prefixes {
        list: Vec::new(),
        next: 1,
    };
    collect(root, &mut prefixes);
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let mut decls = String::new();
    if !default_ns.is_empty() {
        decls.push_str(" xmlns=\"");
        escape_into(&mut decls, default_ns, true);
        decls.push('"');
    }
    for (ns, prefix, used_prefixed) in &prefixes.list {
        if *used_prefixed {
            let _ = write!(decls, " xmlns:{prefix}=\"");
            escape_into(&mut decls, ns, true);
            decls.push('"');
        }
    }
    let w = Writer {
        prefixes: &prefixes,
    };
    w.element(&mut out, root, 0, default_ns, Some(&decls));
    out.push('\n');
    out
}

struct Prefixes {
    /// (namespace, prefix, whether any name is printed with the prefix)
    list: Vec<(String, String, bool)>,
    next: usize,
}

impl Prefixes {
    fn note(&mut self, ns: &str, prefixed: bool) {
        if ns.is_empty() || ns == XML {
            return;
        }
        if let Some(entry) = self.list.iter_mut().find(|(n, _, _)| n == ns) {
            entry.2 |= prefixed;
            return;
        }
        let prefix = match CANONICAL_PREFIXES.iter().find(|(n, _)| *n == ns) {
            Some((_, p)) => (*p).to_owned(),
            None => {
                let p = format!("ns{}", self.next);
                self.next += 1;
                p
            }
        };
        self.list.push((ns.to_owned(), prefix, prefixed));
    }

    fn prefix(&self, ns: &str) -> Option<&str> {
        if ns == XML {
            return Some("xml");
        }
        self.list
            .iter()
            .find(|(n, _, _)| n == ns)
            .map(|(_, p, _)| p.as_str())
    }
}

/// Which namespaces appear, and whether each is printed with a prefix. Elements of the root's
/// namespace are printed unprefixed; attributes in a namespace are always prefixed.
fn collect(el: &Element, p: &mut Prefixes) {
    collect_in(el, p, &el.name.namespace);
}

fn collect_in(el: &Element, p: &mut Prefixes, default_ns: &str) {
    p.note(&el.name.namespace, el.name.namespace != default_ns);
    for a in &el.attributes {
        p.note(&a.name.namespace, true);
    }
    for c in el.elements() {
        let inner_default = if c.name.namespace.is_empty() {
            ""
        } else {
            default_ns
        };
        collect_in(c, p, inner_default);
    }
}

struct Writer<'a> {
    prefixes: &'a Prefixes,
}

impl Writer<'_> {
    fn qname(&self, out: &mut String, ns: &str, local: &str, in_default: bool) {
        if !in_default && !ns.is_empty() {
            if let Some(p) = self.prefixes.prefix(ns) {
                out.push_str(p);
                out.push(':');
            }
        }
        out.push_str(local);
    }

    fn element(
        &self,
        out: &mut String,
        el: &Element,
        depth: usize,
        scope_default: &str,
        decls: Option<&str>,
    ) {
        indent(out, depth);
        let ns = el.name.namespace.as_str();
        // An element in no namespace under a default namespace undeclares it (xmlns="").
        let (in_default, child_default, undeclare) = if ns.is_empty() {
            (true, "", !scope_default.is_empty())
        } else {
            (ns == scope_default, scope_default, false)
        };
        out.push('<');
        self.qname(out, ns, &el.name.local, in_default);
        if let Some(d) = decls {
            out.push_str(d);
        }
        if undeclare {
            out.push_str(" xmlns=\"\"");
        }
        for a in &el.attributes {
            out.push(' ');
            self.qname(out, &a.name.namespace, &a.name.local, false);
            out.push_str("=\"");
            escape_into(out, &a.value, true);
            out.push('"');
        }
        if el.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        let only_elements = el.children.iter().all(|n| matches!(n, Node::Element(_)));
        if only_elements {
            for c in el.elements() {
                out.push('\n');
                self.element(out, c, depth + 1, child_default, None);
            }
            out.push('\n');
            indent(out, depth);
        } else {
            // Mixed or text content: printed inline so that no whitespace is added.
            for n in &el.children {
                match n {
                    Node::Text(t) => escape_into(out, t, false),
                    Node::Element(c) => self.element(out, c, 0, child_default, None),
                }
            }
        }
        out.push_str("</");
        self.qname(out, ns, &el.name.local, in_default);
        out.push('>');
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Escapes character data; in attribute values also quotes and the whitespace characters that
/// attribute-value normalisation would otherwise turn into spaces.
pub(crate) fn escape_into(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}
