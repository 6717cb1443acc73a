//! The one integration test binary of `query-syntax`: the data-driven parser suite and the published-examples corpus.
//!
//! Only the `check*` helpers here call `parse` and `print`, so an API change is one edit.
//! It does not test the lexer or limits in isolation; those have unit tests beside their code.

mod docs_corpus;
mod parse_data;

use query_syntax::{Limits, Query, SyntaxError, parse, print};

/// The outcome of one query through the whole front end: its tree, canonical text and round trip, or its error.
pub(crate) enum Outcome {
    Parsed { query: Box<Query>, printed: String, round_trip: Result<(), String> },
    Rejected(SyntaxError),
}

/// Parses `text` with the default limits and, when it parses, prints it and parses the print again.
/// The round trip holds when the reparsed tree equals the original and printing it again gives the same text.
pub(crate) fn check_query(text: &str) -> Outcome {
    let limits = Limits::default();
    match parse(text, &limits) {
        Err(e) => Outcome::Rejected(e),
        Ok(query) => {
            let printed = print(&query);
            let round_trip = match parse(&printed, &limits) {
                Err(e) => Err(format!("the printed text does not parse: {e}\n  printed: {printed}")),
                Ok(again) if again != query => Err(format!(
                    "the printed text parses to a different tree\n  printed: {printed}\n  reparsed: {again:#?}"
                )),
                Ok(again) if print(&again) != printed => {
                    Err(format!("printing is not stable: {printed} then {}", print(&again)))
                }
                Ok(_) => Ok(()),
            };
            Outcome::Parsed { query: Box::new(query), printed, round_trip }
        }
    }
}

/// The error as snapshots and failure lists show it: code, line:column, byte offset and message.
pub(crate) fn render_error(e: &SyntaxError) -> String {
    format!("{} {}:{} (offset {}): {}", e.code, e.line, e.column, e.offset, e.message)
}
