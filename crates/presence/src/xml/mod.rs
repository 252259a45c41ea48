//! A small namespace-resolved XML tree: what unknown extension elements are kept as, and the
//! intermediate form between bytes and the typed models. Prefixes are resolved away on reading
//! (only namespace URIs are kept) and chosen again on printing.

mod read;
mod write;

pub(crate) use read::parse_tree;
pub(crate) use write::write_document;

/// A namespace-qualified name. `namespace` is empty for names in no namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// The namespace URI (never a prefix).
    pub namespace: String,
    /// The local part.
    pub local: String,
}

impl Name {
    /// A name in `namespace`.
    pub fn new(namespace: &str, local: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            local: local.to_owned(),
        }
    }

    /// Whether this is `local` in `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }
}

/// An attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Unprefixed attributes are in no namespace (XML Namespaces §6.2).
    pub name: Name,
    /// The value with entities resolved.
    pub value: String,
}

impl Attribute {
    /// An attribute in no namespace.
    pub fn plain(local: &str, value: impl Into<String>) -> Self {
        Self {
            name: Name::new("", local),
            value: value.into(),
        }
    }
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A nested element.
    Element(Element),
    /// Character data with entities resolved; adjacent text and CDATA are merged.
    Text(String),
}

/// An element and its subtree, kept faithfully: namespace, attributes, children in order.
/// Whitespace-only text between child elements (indentation) is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace and local name.
    pub name: Name,
    /// Attributes in document order, without `xmlns` declarations.
    pub attributes: Vec<Attribute>,
    /// Children in document order.
    pub children: Vec<Node>,
}

impl Element {
    /// An element with no attributes and no children.
    pub fn new(namespace: &str, local: &str) -> Self {
        Self {
            name: Name::new(namespace, local),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Adds an attribute in no namespace.
    pub fn with_attr(mut self, local: &str, value: impl Into<String>) -> Self {
        self.attributes.push(Attribute::plain(local, value));
        self
    }

    /// Adds an attribute if `value` is present.
    pub(crate) fn with_opt_attr(self, local: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.with_attr(local, v),
            None => self,
        }
    }

    /// Adds a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Adds text content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        if !text.is_empty() {
            self.children.push(Node::Text(text));
        }
        self
    }

    /// Whether this is `local` in `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.name.is(namespace, local)
    }

    /// The value of the attribute `local` in no namespace.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.namespace.is_empty() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// The value of `xml:lang`.
    pub fn lang(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.is(crate::ns::XML, "lang"))
            .map(|a| a.value.as_str())
    }

    /// Child elements in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// All text children concatenated.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                out.push_str(t);
            }
        }
        out
    }

    /// Whether any child is an element.
    pub fn has_element_children(&self) -> bool {
        self.children.iter().any(|n| matches!(n, Node::Element(_)))
    }

    /// Number of elements in this subtree, itself included.
    pub fn count_elements(&self) -> usize {
        1 + self.elements().map(Element::count_elements).sum::<usize>()
    }
}

/// Bounds checked while parsing, before memory grows with the input (DESIGN: bounded everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting accepted (the root is depth 1).
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
    /// Most attributes on one element.
    pub max_attributes: usize,
}

impl Default for Limits {
    /// 64 KiB, depth 24, 2000 elements, 32 attributes per element: far above what presence
    /// clients publish (a few KiB), far below what would hurt a server.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_depth: 24,
            max_elements: 2000,
            max_attributes: 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(xml: &str) -> Element {
        let tree = parse_tree(xml.as_bytes(), &Limits::default()).unwrap();
        let printed = write_document(&tree);
        let again = parse_tree(printed.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(again, tree, "{printed}");
        tree
    }

    #[test]
    fn namespaces_survive_any_prefixes() {
        // No-namespace element under a default namespace, the default namespace's own elements
        // under it (printed with a prefix), attributes in the xml: and other namespaces.
        let tree = round_trip(
            r#"<p xmlns="urn:a" xmlns:q="urn:b"><bare xmlns=""><inner xmlns="urn:a" q:x="1" xml:lang="en"/></bare><q:b a="&lt;&quot;&#10;"/></p>"#,
        );
        let bare = tree.elements().next().unwrap();
        assert_eq!(bare.name, Name::new("", "bare"));
        let inner = bare.elements().next().unwrap();
        assert_eq!(inner.name, Name::new("urn:a", "inner"));
        assert_eq!(inner.lang(), Some("en"));
        assert_eq!(tree.elements().nth(1).unwrap().attr("a"), Some("<\"\n"));
    }

    #[test]
    fn namespace_names_are_unescaped() {
        // Found by fuzzing: the reader gives declarations' values raw.
        let tree = round_trip(r#"<p xmlns="urn:a&amp;b" xmlns:q="urn:c>d&#10;"><q:x/></p>"#);
        assert_eq!(tree.name.namespace, "urn:a&b");
        assert_eq!(tree.elements().next().unwrap().name.namespace, "urn:c>d\n");
        for bad in [
            r#"<p xmlns:q="urn:q"><q:/></p>"#,
            r#"<p xmlns:q="urn:q"><q:a:b/></p>"#,
            r#"<p xmlns:q="urn:q" q:="1"/>"#,
        ] {
            assert!(
                parse_tree(bad.as_bytes(), &Limits::default()).is_err(),
                "{bad}"
            );
        }
        let escaped = r#"<p xmlns:q="http://www.w3.org/2000/xmlns&#47;"><q:x/></p>"#;
        assert!(parse_tree(escaped.as_bytes(), &Limits::default()).is_err());
    }

    #[test]
    fn mixed_content_keeps_its_text() {
        let tree = round_trip(r#"<p xmlns="urn:a">  one <b/> two <![CDATA[<three>]]>  </p>"#);
        assert_eq!(tree.text(), "  one  two <three>  ");
        let tree = round_trip(r#"<p xmlns="urn:a">   </p>"#);
        assert_eq!(tree.text(), "   ");
    }
}
