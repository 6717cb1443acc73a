//! Findings about a model: a stable code, the specification rule it enforces, where it is, how severe, and a message.
//!
//! Diagnostics are data, not errors; the caller decides which ones are fatal.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A violated MUST or SHALL: the model is invalid or incomplete.
    Error,
    /// A violated SHOULD: the model is valid but not as recommended.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable code such as `DTDL0412`; its meaning never changes once released.
    pub code: &'static str,
    /// The name of the specification rule enforced, as the conformance suite names it (for example `ClassPropertyTypeIncludesMaterial`), when there is one.
    pub rule: Option<String>,
    pub severity: Severity,
    /// Index of the document in the model, in the order given.
    pub document: usize,
    /// JSON pointer to the offending value inside the document.
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} #{}: {}", self.code, self.severity.as_str(), self.pointer, self.message)
    }
}
