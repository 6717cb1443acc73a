//! The report of `models validate`: a table of diagnostics per document and a summary line, or the JSON document scripts read.
//!
//! The JSON shape is a promise to scripts: `{"valid": bool, "incomplete": [dtmi], "diagnostics": [{"code", "rule", "severity", "document", "pointer", "message"}]}`, with `document` the file path as given or found.
//! This module decides nothing about validity; it reports what `model::parse` found.

use model::{Diagnostic, Document, Outcome, Severity};
use serde_json::json;

use crate::{Output, table};

/// The report for one validation; it succeeds only for a valid, complete model set.
pub(crate) fn validation(documents: &[Document], outcome: &Outcome, json: bool) -> Output {
    let stdout = if json { render_json(documents, outcome) } else { render_human(documents, outcome) };
    Output { stdout, stderr: String::new(), success: outcome.is_valid() }
}

/// Where a diagnostic is, for people and scripts: the document's path, or a marker for a finding about the set as a whole.
pub(crate) fn document_name(documents: &[Document], index: usize) -> &str {
    documents.get(index).map_or("(model set)", |d| d.name.as_str())
}

fn render_json(documents: &[Document], outcome: &Outcome) -> String {
    let diagnostics: Vec<serde_json::Value> = outcome
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "code": d.code,
                "rule": d.rule,
                "severity": d.severity.as_str(),
                "document": document_name(documents, d.document),
                "pointer": d.pointer,
                "message": d.message,
            })
        })
        .collect();
    let report = json!({
        "valid": outcome.is_valid(),
        "incomplete": outcome.unresolved,
        "diagnostics": diagnostics,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("a JSON value always serializes");
    text.push('\n');
    text
}

fn render_human(documents: &[Document], outcome: &Outcome) -> String {
    let mut out = String::new();
    // Findings outside every document (an index past the end) are grouped under one extra heading after the documents.
    let orphans = outcome.diagnostics.iter().any(|d| d.document >= documents.len());
    let groups = documents.len() + usize::from(orphans);
    for index in 0..groups {
        let found: Vec<&Diagnostic> = outcome
            .diagnostics
            .iter()
            .filter(|d| if index < documents.len() { d.document == index } else { d.document >= documents.len() })
            .collect();
        let name = document_name(documents, index);
        if found.is_empty() {
            out.push_str(&format!("{name}: ok\n"));
            continue;
        }
        let (errors, warnings) = count(found.iter().copied());
        out.push_str(&format!("{name}: {}, {}\n", plural(errors, "error"), plural(warnings, "warning")));
        let mut rows = vec![vec!["code".to_owned(), "severity".to_owned(), "pointer".to_owned(), "message".to_owned()]];
        for d in found {
            rows.push(vec![
                d.code.to_owned(),
                d.severity.as_str().to_owned(),
                format!("#{}", d.pointer),
                d.message.clone(),
            ]);
        }
        out.push_str(&table::render(&rows, "  "));
    }
    out.push_str(&summary(documents, outcome));
    out
}

/// `3 documents, 3 interfaces, 0 errors, 0 warnings; valid`, or `; invalid` and/or `; incomplete: missing dtmi:…`.
fn summary(documents: &[Document], outcome: &Outcome) -> String {
    let (errors, warnings) = count(outcome.diagnostics.iter());
    let mut verdicts = Vec::new();
    if errors > 0 {
        verdicts.push("invalid".to_owned());
    }
    if outcome.is_incomplete() {
        verdicts.push(format!("incomplete: missing {}", outcome.unresolved.join(", ")));
    }
    if verdicts.is_empty() {
        verdicts.push("valid".to_owned());
    }
    format!(
        "{}, {}, {}, {}; {}\n",
        plural(documents.len(), "document"),
        plural(outcome.set.len(), "interface"),
        plural(errors, "error"),
        plural(warnings, "warning"),
        verdicts.join("; ")
    )
}

fn count<'a>(diagnostics: impl Iterator<Item = &'a Diagnostic>) -> (usize, usize) {
    diagnostics.fold((0, 0), |(errors, warnings), d| match d.severity {
        Severity::Error => (errors + 1, warnings),
        Severity::Warning => (errors, warnings + 1),
    })
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use model::{Diagnostic, Document, Outcome, Severity};

    fn check(outcome: &Outcome, expect_human: Expect, expect_json: Expect) {
        let documents = vec![
            Document { name: "models/room.json".into(), text: String::new() },
            Document { name: "models/space.json".into(), text: String::new() },
        ];
        let human = super::validation(&documents, outcome, false);
        let json = super::validation(&documents, outcome, true);
        assert_eq!(human.success, json.success);
        expect_human.assert_eq(&format!("success: {}\n{}", human.success, human.stdout));
        expect_json.assert_eq(&json.stdout);
    }

    fn diagnostic(code: &'static str, severity: Severity, document: usize, pointer: &str) -> Diagnostic {
        Diagnostic {
            code,
            rule: Some("SomeRule".to_owned()),
            severity,
            document,
            pointer: pointer.into(),
            message: format!("{code} happened"),
        }
    }

    #[test]
    fn valid_set() {
        check(
            &Outcome::default(),
            expect![[r#"
                success: true
                models/room.json: ok
                models/space.json: ok
                2 documents, 0 interfaces, 0 errors, 0 warnings; valid
            "#]],
            expect![[r#"
                {
                  "valid": true,
                  "incomplete": [],
                  "diagnostics": []
                }
            "#]],
        );
    }

    #[test]
    fn invalid_and_incomplete_set() {
        let outcome = Outcome {
            diagnostics: vec![
                diagnostic("DTDL0001", Severity::Error, 1, "/@id"),
                diagnostic("DTDL0999", Severity::Warning, 1, "/contents/12/name"),
                diagnostic("DTDL0002", Severity::Error, 7, ""),
            ],
            unresolved: vec!["dtmi:example:Missing;1".into()],
            ..Outcome::default()
        };
        check(
            &outcome,
            expect![[r#"
                success: false
                models/room.json: ok
                models/space.json: 1 error, 1 warning
                  code      severity  pointer             message
                  DTDL0001  error     #/@id               DTDL0001 happened
                  DTDL0999  warning   #/contents/12/name  DTDL0999 happened
                (model set): 1 error, 0 warnings
                  code      severity  pointer  message
                  DTDL0002  error     #        DTDL0002 happened
                2 documents, 0 interfaces, 2 errors, 1 warning; invalid; incomplete: missing dtmi:example:Missing;1
            "#]],
            expect![[r##"
                {
                  "valid": false,
                  "incomplete": [
                    "dtmi:example:Missing;1"
                  ],
                  "diagnostics": [
                    {
                      "code": "DTDL0001",
                      "rule": "SomeRule",
                      "severity": "error",
                      "document": "models/space.json",
                      "pointer": "/@id",
                      "message": "DTDL0001 happened"
                    },
                    {
                      "code": "DTDL0999",
                      "rule": "SomeRule",
                      "severity": "warning",
                      "document": "models/space.json",
                      "pointer": "/contents/12/name",
                      "message": "DTDL0999 happened"
                    },
                    {
                      "code": "DTDL0002",
                      "rule": "SomeRule",
                      "severity": "error",
                      "document": "(model set)",
                      "pointer": "",
                      "message": "DTDL0002 happened"
                    }
                  ]
                }
            "##]],
        );
    }
}
