//! The model engine: reads DTDL v2 and v3 documents, decides whether a model set is valid exactly as the DTDL specification says, and answers the questions the graph and the query engine ask of models.
//!
//! Layout: `dtmi` owns identifiers, `diagnostic` the findings, `metamodel` the language tables of each DTDL version, `parse` turns JSON into elements, `resolve` checks the set as a whole, `set` is the resolved model set, `schema` and `instance` validate instance values, and `semantic` knows semantic types and units.
//! This crate does no I/O: callers hand it document texts and get back a best-effort model set with diagnostics, never an `Err`.

pub mod diagnostic;
pub mod dtmi;
pub mod instance;
mod metamodel;
mod parse;
mod resolve;
pub mod schema;
pub mod semantic;
pub mod set;

pub use diagnostic::{Diagnostic, Severity};
pub use dtmi::Dtmi;
pub use schema::Schema;
pub use set::ModelSet;

/// A DTDL language version this engine understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DtdlVersion {
    V2,
    V3,
}

impl DtdlVersion {
    /// The major version number, as it appears in `dtmi:dtdl:context;N`.
    pub fn number(self) -> u32 {
        match self {
            DtdlVersion::V2 => 2,
            DtdlVersion::V3 => 3,
        }
    }
}

/// One JSON document of a model: its text and the name diagnostics use for it.
#[derive(Clone, Debug)]
pub struct Document {
    pub name: String,
    pub text: String,
}

/// How undefined extensions (contexts this engine does not define, and the terms they may bring) are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UndefinedExtensions {
    /// The reference parser's default: DTDL v2 tolerates undefined extensions, v3 does not.
    #[default]
    VersionDefault,
    Allow,
    Disallow,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub undefined_extensions: UndefinedExtensions,
}

/// The result of parsing a model: the resolved set (best effort), every diagnostic, and the dependent references that did not resolve.
#[derive(Debug, Default)]
pub struct Outcome {
    pub set: ModelSet,
    pub diagnostics: Vec<Diagnostic>,
    /// DTMIs that are referenced where an element is needed but are defined nowhere in the model, sorted and without duplicates.
    pub unresolved: Vec<String>,
}

impl Outcome {
    /// True when some dependent reference did not resolve.
    pub fn is_incomplete(&self) -> bool {
        !self.unresolved.is_empty()
    }

    /// True for a complete model without error diagnostics.
    pub fn is_valid(&self) -> bool {
        !self.is_incomplete() && !self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Parses documents as one model and validates it.
pub fn parse(documents: &[Document], options: &Options) -> Outcome {
    parse::parse_model(documents, options)
}
