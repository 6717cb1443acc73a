//! Digital Twin Model Identifiers: parsing with the exact grammar of each DTDL version, length limits, reserved prefixes, and the ids the language assigns to nested elements.
//!
//! A `Dtmi` can only be made by parsing, so code that holds one holds a syntactically valid identifier.

use std::fmt;

use crate::DtdlVersion;

/// Longest DTMI of any kind, system segments included.
pub const DTMI_BYTES_MAX: usize = 4096;
/// Longest user DTMI (an `@id` other than an Interface's, a relationship target).
pub const USER_DTMI_BYTES_MAX: usize = 2048;
/// Longest Interface `@id`.
pub const INTERFACE_DTMI_BYTES_MAX: usize = 128;
/// Prefixes that models may not use for their own `@id`s.
pub const RESERVED_PREFIXES: [&str; 2] = ["dtmi:dtdl:", "dtmi:standard:"];

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dtmi {
    text: String,
    /// Byte length of the path part (`dtmi:a:b`), without the version.
    path_len: usize,
    major: Option<u32>,
    minor: Option<u32>,
    system: bool,
}

impl Dtmi {
    /// Parses the general DTMI syntax: segments may be system segments (leading underscore), the version is optional and may have a minor part.
    pub fn parse(text: &str) -> Option<Dtmi> {
        if text.len() > DTMI_BYTES_MAX {
            return None;
        }
        let rest = text.strip_prefix("dtmi:")?;
        let (path, version) = match rest.split_once(';') {
            Some((p, v)) => (p, Some(v)),
            None => (rest, None),
        };
        let mut system = false;
        for segment in path.split(':') {
            match segment_kind(segment)? {
                SegmentKind::User => {}
                SegmentKind::System => system = true,
            }
        }
        let (major, minor) = match version {
            None => (None, None),
            Some(v) => {
                let (major, minor) = match v.split_once('.') {
                    Some((a, b)) => (a, Some(b)),
                    None => (v, None),
                };
                let major = version_number(major, 9)?;
                let minor = match minor {
                    Some(m) => Some(version_number(m, 6)?),
                    None => None,
                };
                (Some(major), minor)
            }
        };
        Some(Dtmi { text: text.to_owned(), path_len: 5 + path.len(), major, minor, system })
    }

    /// Parses a DTMI that a model author may write in the given DTDL version: no system segments, a version required in v2, a major.minor version allowed in v3.
    pub fn parse_user(text: &str, version: DtdlVersion) -> Option<Dtmi> {
        if text.len() > USER_DTMI_BYTES_MAX {
            return None;
        }
        let dtmi = Dtmi::parse(text)?;
        if !dtmi.conforms_to(version) {
            return None;
        }
        Some(dtmi)
    }

    /// Whether this identifier matches the user DTMI grammar of `version`.
    pub fn conforms_to(&self, version: DtdlVersion) -> bool {
        if self.system {
            return false;
        }
        match version {
            DtdlVersion::V2 => self.major.is_some() && self.minor.is_none(),
            DtdlVersion::V3 => true,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The identifier without its version (`dtmi:com:example:Thermostat`).
    pub fn versionless(&self) -> &str {
        &self.text[..self.path_len]
    }

    pub fn major(&self) -> Option<u32> {
        self.major
    }

    pub fn minor(&self) -> Option<u32> {
        self.minor
    }

    /// True when some segment is a system segment (starts with an underscore), as in assigned ids.
    pub fn is_system(&self) -> bool {
        self.system
    }

    /// True when the identifier falls under a prefix reserved for the language itself.
    pub fn is_reserved(&self) -> bool {
        RESERVED_PREFIXES.iter().any(|p| self.text.starts_with(p))
    }

    /// The id the language assigns to an element nested in member `property` of the element with this id: `:_property` (and `:__name` for a named element of a plural member) is appended to the path, before the version.
    pub fn child(&self, property: &str, name: Option<&str>) -> Dtmi {
        let mut text = String::with_capacity(self.text.len() + property.len() + 16);
        text.push_str(self.versionless());
        text.push_str(":_");
        text.push_str(property);
        if let Some(name) = name {
            text.push_str(":__");
            text.push_str(name);
        }
        let path_len = text.len();
        text.push_str(&self.text[self.path_len..]);
        Dtmi { text, path_len, major: self.major, minor: self.minor, system: true }
    }
}

impl fmt::Display for Dtmi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Dtmi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dtmi({})", self.text)
    }
}

enum SegmentKind {
    User,
    System,
}

/// A user segment is `[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?`; a system segment starts with underscores followed by such a body.
fn segment_kind(segment: &str) -> Option<SegmentKind> {
    let body = segment.trim_start_matches('_');
    let kind = if body.len() == segment.len() { SegmentKind::User } else { SegmentKind::System };
    let bytes = body.as_bytes();
    let first = *bytes.first()?;
    if !first.is_ascii_alphabetic() {
        return None;
    }
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        return None;
    }
    if bytes.last() == Some(&b'_') {
        return None;
    }
    Some(kind)
}

/// A version number: 1 to `digits_max` digits with no leading zero.
fn version_number(text: &str, digits_max: usize) -> Option<u32> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > digits_max || bytes[0] == b'0' {
        return None;
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, version: DtdlVersion, expect_valid: bool) {
        assert_eq!(Dtmi::parse_user(text, version).is_some(), expect_valid, "{text} in {version:?}");
    }

    #[test]
    fn user_grammar_per_version() {
        check("dtmi:com:example:Thermostat;1", DtdlVersion::V2, true);
        check("dtmi:com:example:Thermostat", DtdlVersion::V2, false);
        check("dtmi:com:example:Thermostat", DtdlVersion::V3, true);
        check("dtmi:com:example:Thermostat;1.2", DtdlVersion::V2, false);
        check("dtmi:com:example:Thermostat;1.2", DtdlVersion::V3, true);
        check("dtmi:com:example:Thermostat;1.0", DtdlVersion::V3, false);
        check("dtmi:com:example:Thermostat;01", DtdlVersion::V3, false);
        check("dtmi:com:example:Thermostat;1234567890", DtdlVersion::V3, false);
        check("dtmi:com:example:Thermostat;123456789", DtdlVersion::V3, true);
        check("dtmi:com:example:Thermostat;1.1234567", DtdlVersion::V3, false);
        check("dtmi:com:example_:Thermostat;1", DtdlVersion::V3, false);
        check("dtmi:com:9example:Thermostat;1", DtdlVersion::V3, false);
        check("dtmi:com:_example;1", DtdlVersion::V3, false);
        check("dtmi:com::example;1", DtdlVersion::V3, false);
        check("dtmi:com:ex-ample;1", DtdlVersion::V3, false);
        check("DTMI:com:example;1", DtdlVersion::V3, false);
        check("dtmi:com:example;", DtdlVersion::V3, false);
    }

    #[test]
    fn assigned_child_ids() {
        let parent = Dtmi::parse("dtmi:com:example:anInterface;1").unwrap();
        let child = parent.child("contents", Some("currentDistance")).child("schema", None);
        assert_eq!(child.as_str(), "dtmi:com:example:anInterface:_contents:__currentDistance:_schema;1");
        assert!(child.is_system());
        assert_eq!(Dtmi::parse(child.as_str()), Some(child));
    }

    #[test]
    fn reserved_prefixes() {
        assert!(Dtmi::parse("dtmi:dtdl:class:Interface;3").unwrap().is_reserved());
        assert!(Dtmi::parse("dtmi:standard:schema:geospatial:point;3").unwrap().is_reserved());
        assert!(!Dtmi::parse("dtmi:dtdlx:thing;1").unwrap().is_reserved());
    }
}
