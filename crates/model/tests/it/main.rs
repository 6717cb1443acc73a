//! Integration tests of the model engine: the DTDL conformance suites and real ontologies, read from `../shared/testdata` beside the repository.

mod conformance;
mod corpus;
mod fixtures;
mod ontologies;
mod set;
