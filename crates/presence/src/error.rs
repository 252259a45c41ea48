//! Why a document was refused. Each variant's text is fit for the reason phrase of a `400`
//! answer (RFC 3903 §6 step 4: a body that cannot be processed is refused with 400).

/// A body that could not be turned into a typed document. The message says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Larger than [`Limits::max_bytes`](crate::Limits::max_bytes), refused before parsing.
    #[error("document of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// Elements nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("elements nested deeper than {limit}")]
    TooDeep { limit: usize },
    /// More elements than [`Limits::max_elements`](crate::Limits::max_elements).
    #[error("more than {limit} elements")]
    TooManyElements { limit: usize },
    /// One element carries more attributes than [`Limits::max_attributes`](crate::Limits::max_attributes).
    #[error("more than {limit} attributes on one element")]
    TooManyAttributes { limit: usize },
    /// The bytes are not UTF-8 (RFC 3863 §4.1: UTF-8 is the encoding to use).
    #[error("document is not UTF-8")]
    NotUtf8,
    /// The XML itself is broken; `reason` is the XML reader's account of it.
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed { position: u64, reason: String },
    /// A prefix used without a namespace declaration in scope.
    #[error("undeclared namespace prefix `{0}`")]
    UndeclaredPrefix(String),
    /// `<!DOCTYPE>` is refused: presence documents have no DTD and entity expansion is an attack.
    #[error("DOCTYPE is not allowed")]
    DocType,
    /// An entity reference other than the five predefined ones or a character reference.
    #[error("unknown entity `&{0};`")]
    UnknownEntity(String),
    /// No element at all.
    #[error("no root element")]
    NoRoot,
    /// Text or a second element after the root element closed.
    #[error("content after the root element")]
    TrailingContent,
    /// The root element is not the one the content type promises.
    #[error("root element is <{found}>, expected <{expected}>")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    /// A required attribute is absent.
    #[error("<{element}> lacks the required `{attribute}` attribute")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },
    /// A required child element is absent.
    #[error("<{element}> lacks the required <{child}> element")]
    MissingElement {
        element: &'static str,
        child: &'static str,
    },
    /// A child the schema allows once appears again (e.g. two `<contact>`s in one tuple).
    #[error("<{element}> has more than one <{child}>")]
    Duplicate {
        element: &'static str,
        child: &'static str,
    },
    /// A value outside what the schema allows, e.g. `<basic>maybe</basic>`.
    #[error("invalid {what} `{value}`")]
    InvalidValue { what: &'static str, value: String },
    /// Two elements of one document carry the same `id` where ids must be unique.
    #[error("duplicate {what} id `{id}`")]
    DuplicateId { what: &'static str, id: String },
}
