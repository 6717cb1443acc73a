//! Reads the catalogue's text format (`data/types.txt`, whose header is the format's reference) into extended types, checking every rule the lookups rely on.
//!
//! It checks syntax, categories and ontologies by name, ids inside their category's block and unique across the catalogue, names valid and unique within a category ignoring case, each category present with its `None` first, and that a superseded type names a usable one.
//! It does not build indexes (that is `Catalogue`) and does not know which ontologies a tenant has loaded.

use std::collections::{HashMap, HashSet};

use crate::catalogue::{Category, ExtendedType, TypeId};
use crate::ontologies::{Ontology, OntologySet};

/// The longest friendly name the 2018 API accepts.
const FRIENDLY_NAME_CHARS_MAX: usize = 64;
/// The bounds of a type name in the 2018 API.
const NAME_CHARS_MIN: usize = 3;
const NAME_CHARS_MAX: usize = 50;

/// Parses the whole catalogue; the error names the first line at fault.
pub(crate) fn parse(text: &'static str) -> Result<Vec<ExtendedType>, String> {
    let mut types: Vec<ExtendedType> = Vec::new();
    // A type's superseding name, with its line, resolved once its category is complete.
    let mut supersessions: Vec<(usize, usize, &str)> = Vec::new();
    let mut seen_categories: HashSet<Category> = HashSet::new();
    let mut category: Option<Category> = None;
    let mut order = 0u32;
    let mut ids: HashSet<TypeId> = HashSet::new();
    let mut names: HashMap<(Category, String), usize> = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let fail = |message: String| Err(format!("line {number}: {message}"));
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let Some(name) = section.strip_suffix(']') else {
                return fail(format!("unclosed section header `{line}`"));
            };
            let Some(found) = Category::ALL.into_iter().find(|c| c.name() == name) else {
                return fail(format!("unknown category `{name}`"));
            };
            if !seen_categories.insert(found) {
                return fail(format!("category {found} has a second section"));
            }
            category = Some(found);
            order = 0;
            continue;
        }
        let Some(category) = category else { return fail("a type before the first section".to_owned()) };
        let (fields, friendly) = match line.split_once('|') {
            Some((fields, friendly)) => (fields, Some(friendly.trim())),
            None => (line, None),
        };
        let mut fields = fields.split_whitespace();
        let (Some(id), Some(name), Some(ontologies)) = (fields.next(), fields.next(), fields.next()) else {
            return fail("expected `<id> <name> <ontologies>`".to_owned());
        };
        let superseded_by = match fields.next() {
            None => None,
            Some(flag) => match flag.strip_prefix("disabled:") {
                Some(instead) => Some(instead),
                None => return fail(format!("unknown flag `{flag}` (expected `disabled:<name>`)")),
            },
        };
        if let Some(extra) = fields.next() {
            return fail(format!("unexpected `{extra}`"));
        }
        let Ok(id) = id.parse::<u32>() else { return fail(format!("id `{id}` is not a number")) };
        if !category.ids().contains(&id) {
            return fail(format!("id {id} is outside the block of {category} ({:?})", category.ids()));
        }
        let is_none = id == category.ids().start;
        if (order == 0) != is_none || (name == "None") != is_none {
            return fail(format!(
                "{category} must open with `{} None`, and only it may be named None",
                category.ids().start
            ));
        }
        if !ids.insert(TypeId::new(id)) {
            return fail(format!("id {id} is used twice"));
        }
        let chars = name.chars().count();
        if !(NAME_CHARS_MIN..=NAME_CHARS_MAX).contains(&chars)
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return fail(format!(
                "name `{name}` must have {NAME_CHARS_MIN} to {NAME_CHARS_MAX} letters, digits or underscores"
            ));
        }
        if let Some(first) = names.insert((category, name.to_ascii_lowercase()), number) {
            return fail(format!("{category} `{name}` repeats the name of line {first} (names ignore case)"));
        }
        let mut set = OntologySet::EMPTY;
        for ontology in ontologies.split(',') {
            let Some(found) = Ontology::ALL.into_iter().find(|o| o.name() == ontology) else {
                return fail(format!("unknown ontology `{ontology}`"));
            };
            if set.contains(found) {
                return fail(format!("ontology {found} is listed twice"));
            }
            set.insert(found);
        }
        let friendly_name = match friendly {
            Some("") => return fail("empty friendly name after `|`".to_owned()),
            Some(text) => text.to_owned(),
            None => words(name),
        };
        if friendly_name.chars().count() > FRIENDLY_NAME_CHARS_MAX {
            return fail(format!(
                "friendly name `{friendly_name}` is longer than {FRIENDLY_NAME_CHARS_MAX} characters"
            ));
        }
        if let Some(instead) = superseded_by {
            supersessions.push((number, types.len(), instead));
        }
        types.push(ExtendedType {
            id: TypeId::new(id),
            category,
            name,
            friendly_name,
            logical_order: order,
            ontologies: set,
            superseded_by: None,
        });
        order += 1;
    }
    if let Some(missing) = Category::ALL.into_iter().find(|c| !seen_categories.contains(c)) {
        return Err(format!("category {missing} has no section"));
    }
    let superseded: HashSet<usize> = supersessions.iter().map(|&(_, index, _)| index).collect();
    for &(number, index, instead) in &supersessions {
        let category = types[index].category;
        let target = types
            .iter()
            .enumerate()
            .find(|(i, t)| t.category == category && t.name.eq_ignore_ascii_case(instead) && !superseded.contains(i));
        let Some((_, target)) = target else {
            return Err(format!(
                "line {number}: `disabled:{instead}` must name a type of {category} that is not itself disabled"
            ));
        };
        types[index].superseded_by = Some(target.id);
    }
    Ok(types)
}

/// A name split into words for its default friendly name: `ConferenceRoom` → `Conference Room`, `EVCharger` → `EV Charger`, `CO2` → `CO2`.
///
/// A word starts at an upper-case letter that follows a lower-case letter or a digit, or that ends a run of capitals and begins a lower-case word; underscores become spaces.
pub(crate) fn words(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            out.push(' ');
            continue;
        }
        if i > 0 && c.is_ascii_uppercase() {
            let before = chars[i - 1];
            let after = chars.get(i + 1).copied();
            let after_lower = before.is_ascii_lowercase() || before.is_ascii_digit();
            let ends_capitals = before.is_ascii_uppercase() && after.is_some_and(|a| a.is_ascii_lowercase());
            if after_lower || ends_capitals {
                out.push(' ');
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Parses a catalogue made of every category's `None` plus `extra` lines for SpaceType, and shows the types of SpaceType or the error.
    fn check(extra: &str, expect: Expect) {
        let mut text = String::from("[SpaceType]\n10000 None Required\n");
        text.push_str(extra);
        for category in &Category::ALL[1..] {
            text.push_str(&format!("[{category}]\n{} None Required\n", category.ids().start));
        }
        let text: &'static str = Box::leak(text.into_boxed_str());
        let shown = match parse(text) {
            Ok(types) => types
                .iter()
                .filter(|t| t.category == Category::SpaceType)
                .map(|t| {
                    let instead = t.superseded_by.map(|id| format!(" instead of {id}")).unwrap_or_default();
                    format!(
                        "{} {} [{}] #{} '{}'{instead}\n",
                        t.id, t.name, t.ontologies, t.logical_order, t.friendly_name
                    )
                })
                .collect(),
            Err(error) => error,
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn well_formed_lines() {
        check(
            "# a comment\n\n11000 Room Default,Building\n11001 ConferenceRoom Default | Meeting room\n11002 Roon Default disabled:room\n",
            expect![[r#"
                10000 None [Required] #0 'None'
                11000 Room [Default, Building] #1 'Room'
                11001 ConferenceRoom [Default] #2 'Meeting room'
                11002 Roon [Default] #3 'Roon' instead of 11000
            "#]],
        );
    }

    #[test]
    fn malformed_lines() {
        check("11000 Room\n", expect!["line 3: expected `<id> <name> <ontologies>`"]);
        check("11000 Room Default bold\n", expect!["line 3: unknown flag `bold` (expected `disabled:<name>`)"]);
        check("11000 Room Default disabled:Hall extra\n", expect!["line 3: unexpected `extra`"]);
        check("x1 Room Default\n", expect!["line 3: id `x1` is not a number"]);
        check("21000 Room Default\n", expect!["line 3: id 21000 is outside the block of SpaceType (10000..20000)"]);
        check(
            "10000 Room Default\n",
            expect!["line 3: SpaceType must open with `10000 None`, and only it may be named None"],
        );
        check(
            "11000 None Default\n",
            expect!["line 3: SpaceType must open with `10000 None`, and only it may be named None"],
        );
        check("11000 Ro Default\n", expect!["line 3: name `Ro` must have 3 to 50 letters, digits or underscores"]);
        check(
            "11000 Hall-A Default\n",
            expect!["line 3: name `Hall-A` must have 3 to 50 letters, digits or underscores"],
        );
        check(
            "11000 Room Default\n11001 ROOM Default\n",
            expect!["line 4: SpaceType `ROOM` repeats the name of line 3 (names ignore case)"],
        );
        check("11000 Room Library\n", expect!["line 3: unknown ontology `Library`"]);
        check("11000 Room Default,Default\n", expect!["line 3: ontology Default is listed twice"]);
        check("11000 Room Default |\n", expect!["line 3: empty friendly name after `|`"]);
        check(
            "11000 Room Default | 0123456789012345678901234567890123456789012345678901234567890123456789\n",
            expect![
                "line 3: friendly name `0123456789012345678901234567890123456789012345678901234567890123456789` is longer than 64 characters"
            ],
        );
        check(
            "11000 Roon Default disabled:Room\n",
            expect!["line 3: `disabled:Room` must name a type of SpaceType that is not itself disabled"],
        );
        check(
            "11000 Roon Default disabled:Rooom\n11001 Rooom Default disabled:Room\n11002 Room Default\n",
            expect!["line 3: `disabled:Rooom` must name a type of SpaceType that is not itself disabled"],
        );
    }

    #[test]
    fn sections() {
        let shown = |text: &'static str| parse(text).err().unwrap_or_default();
        assert_eq!(shown("10000 None Required\n"), "line 1: a type before the first section");
        assert_eq!(shown("[SpaceType\n"), "line 1: unclosed section header `[SpaceType`");
        assert_eq!(shown("[Spaces]\n"), "line 1: unknown category `Spaces`");
        assert_eq!(
            shown("[SpaceType]\n10000 None Required\n[SpaceType]\n"),
            "line 3: category SpaceType has a second section"
        );
        assert_eq!(shown("[SpaceType]\n10000 None Required\n"), "category SpaceSubtype has no section");
    }

    #[test]
    fn friendly_names_from_names() {
        let shown: Vec<String> = [
            "ConferenceRoom",
            "EVCharger",
            "DCFastCharger",
            "CO2",
            "PhaseACurrent",
            "Level2Charger",
            "Snake_case",
            "None",
        ]
        .map(words)
        .to_vec();
        expect![[r#"
            [
                "Conference Room",
                "EV Charger",
                "DC Fast Charger",
                "CO2",
                "Phase A Current",
                "Level2 Charger",
                "Snake case",
                "None",
            ]
        "#]]
        .assert_debug_eq(&shown);
    }
}
