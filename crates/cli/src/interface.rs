//! `models show`: one interface as the model set resolved it, with its lineage and every content, own and inherited, and the interface each comes from.
//!
//! It shows what `model::parse` resolved and judges nothing itself; when the set is invalid or incomplete it still shows its best-effort view, says so on standard error and fails, so scripts do not trust it.

use model::set::{Content, ContentKind, Interface, LangString};
use model::{Document, Dtmi, Outcome};
use serde_json::json;

use crate::report::document_name;
use crate::{Output, schema, table};

pub(crate) fn show(documents: &[Document], outcome: &Outcome, dtmi: &Dtmi, json: bool) -> Output {
    let mut stderr = String::new();
    let success = outcome.is_valid();
    if !success {
        stderr.push_str("warning: the model set is not valid and complete; what follows is a best-effort view (run `twinscape models validate` for details)\n");
    }
    let Some(interface) = outcome.set.get(dtmi.as_str()) else {
        stderr.push_str(&format!("{dtmi} is not defined in the given model files\n"));
        return Output { stdout: String::new(), stderr, success: false };
    };
    let lineage = outcome.set.lineage(dtmi.as_str());
    let contents = outcome.set.contents(dtmi.as_str());
    let view = View { documents, interface, lineage: &lineage, contents: &contents };
    let stdout = if json { view.json() } else { view.human() };
    Output { stdout, stderr, success }
}

struct View<'a> {
    documents: &'a [Document],
    interface: &'a Interface,
    lineage: &'a [&'a Interface],
    contents: &'a [(&'a Interface, &'a Content)],
}

impl View<'_> {
    fn human(&self) -> String {
        let interface = self.interface;
        let ids = |list: &mut dyn Iterator<Item = &Dtmi>| {
            let ids: Vec<&str> = list.map(Dtmi::as_str).collect();
            if ids.is_empty() { "-".to_owned() } else { ids.join(", ") }
        };
        let mut header = vec![
            row(["interface", interface.id.as_str()]),
            row(["version", &format!("DTDL v{}", interface.version.number())]),
            row(["document", document_name(self.documents, interface.document)]),
        ];
        if let Some(name) = preferred(&interface.display_name) {
            header.push(row(["display name", name]));
        }
        header.push(row(["extends", &ids(&mut interface.extends.iter())]));
        header.push(row(["lineage", &ids(&mut self.lineage.iter().map(|i| &i.id))]));
        let mut out = table::render(&header, "");
        out.push('\n');
        if self.contents.is_empty() {
            out.push_str("no contents\n");
            return out;
        }
        let mut rows = vec![row(["class", "name", "schema", "notes", "origin"])];
        for (origin, content) in self.contents {
            rows.push(vec![
                content.kind.class().to_owned(),
                content.name.clone(),
                schema::render_content(&content.kind),
                notes(content),
                origin.id.as_str().to_owned(),
            ]);
        }
        out.push_str(&table::render(&rows, ""));
        out
    }

    fn json(&self) -> String {
        let interface = self.interface;
        let contents: Vec<serde_json::Value> = self
            .contents
            .iter()
            .map(|(origin, content)| {
                json!({
                    "class": content.kind.class(),
                    "name": content.name,
                    "schema": schema::render_content(&content.kind),
                    "writable": writable(&content.kind),
                    "semantic_types": content.semantic_types,
                    "unit": content.unit,
                    "cotypes": content.cotypes,
                    "origin": origin.id.as_str(),
                })
            })
            .collect();
        let value = json!({
            "id": interface.id.as_str(),
            "version": interface.version.number(),
            "document": document_name(self.documents, interface.document),
            "display_name": interface.display_name,
            "extends": interface.extends.iter().map(Dtmi::as_str).collect::<Vec<_>>(),
            "lineage": self.lineage.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            "contents": contents,
        });
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always serializes");
        text.push('\n');
        text
    }
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// English when given, else the first language in tag order.
fn preferred(text: &LangString) -> Option<&str> {
    text.get("en").or_else(|| text.values().next()).map(String::as_str)
}

fn writable(kind: &ContentKind) -> bool {
    match kind {
        ContentKind::Property { writable, .. } | ContentKind::Relationship { writable, .. } => *writable,
        ContentKind::Telemetry { .. } | ContentKind::Command { .. } | ContentKind::Component { .. } => false,
    }
}

/// Semantic types, unit, other co-types and writability, in that order.
fn notes(content: &Content) -> String {
    let mut notes: Vec<&str> = content.semantic_types.iter().map(String::as_str).collect();
    notes.extend(content.unit.as_deref());
    notes.extend(content.cotypes.iter().map(String::as_str));
    if writable(&content.kind) {
        notes.push("writable");
    }
    notes.join(", ")
}
