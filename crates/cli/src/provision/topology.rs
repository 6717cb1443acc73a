//! Reading a provisioning YAML file in the style of the 2018 samples (`provisionSample.yaml`) into a `Topology`: root spaces, each with what it holds and its child spaces, every object with its line and its path in the file.
//!
//! The reader always returns: a best-effort topology and every problem it found (an unknown key, a missing name, a list where a text belongs, two siblings that would be one object on the server), each with its line, so one run reports them all.
//! Keys match ignoring case (`subType` and `subtype` are one key, as the 2018 API reads members), and a key given twice in two spellings is a problem.
//! Matchers, user-defined functions and role assignments are checked lightly (a list of mappings, each with its identifying key) and kept as `Skipped`, for the caller to report.
//! This file sends nothing: what the objects become on a server is `provision`'s business, and whether a type or a value is valid is the server's.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// The largest file read; a topology of thousands of spaces is a fraction of it.
pub(crate) const FILE_BYTES_MAX: u64 = 8 << 20;

/// The deepest nesting of spaces (a root space is at depth 1); the 2018 samples use four or five levels.
pub(crate) const SPACE_DEPTH_MAX: usize = 32;

/// What the file describes: the root spaces, in file order.
#[derive(Debug, Default)]
pub(crate) struct Topology {
    pub(crate) spaces: Vec<Space>,
}

/// Where an object is written: the line its entry starts on and its path of keys and indices (`[0].spaces[1].devices[0]`).
#[derive(Clone, Debug, Default)]
pub(crate) struct Place {
    pub(crate) line: usize,
    pub(crate) path: String,
}

/// Something in the file that keeps it from being provisioned.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) line: usize,
    /// The path of the object or key at fault; empty for the file as a whole.
    pub(crate) path: String,
    pub(crate) message: String,
}

/// The members of an object's create body that the file gave (the 2018 member name and its text), in the order of the object's accepted keys.
pub(crate) type Members = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
pub(crate) struct Space {
    pub(crate) place: Place,
    pub(crate) name: String,
    /// `Type`, `Subtype`, `Description`, `FriendlyName`, as given.
    pub(crate) members: Members,
    pub(crate) types: Vec<Object>,
    pub(crate) property_keys: Vec<Object>,
    pub(crate) properties: Vec<Property>,
    pub(crate) resources: Vec<Object>,
    pub(crate) devices: Vec<Device>,
    pub(crate) users: Vec<Object>,
    pub(crate) skipped: Vec<Skipped>,
    pub(crate) children: Vec<Space>,
}

/// A custom type, a property key, a resource or a user: its create body's members, which include what identifies it.
#[derive(Debug, Default)]
pub(crate) struct Object {
    pub(crate) place: Place,
    pub(crate) members: Members,
}

impl Object {
    /// The text of member `name` (a 2018 member name), if given.
    pub(crate) fn member(&self, name: &str) -> Option<&str> {
        member(&self.members, name)
    }
}

/// An extended property value on a space.
#[derive(Debug, Default)]
pub(crate) struct Property {
    pub(crate) place: Place,
    pub(crate) name: String,
    pub(crate) value: String,
}

#[derive(Debug, Default)]
pub(crate) struct Device {
    pub(crate) place: Place,
    /// `Name`, `HardwareId`, `Type`, `Subtype`, as given; a device has a name or a hardware id, or both.
    pub(crate) members: Members,
    pub(crate) sensors: Vec<Object>,
}

impl Device {
    pub(crate) fn member(&self, name: &str) -> Option<&str> {
        member(&self.members, name)
    }
}

/// An entry of a kind this server does not provision yet.
#[derive(Debug)]
pub(crate) struct Skipped {
    pub(crate) place: Place,
    pub(crate) kind: SkippedKind,
    /// What identifies the entry in the file: a matcher's or function's name, a role assignment's role and object.
    pub(crate) name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SkippedKind {
    Matcher,
    UserDefinedFunction,
    RoleAssignment,
}

impl SkippedKind {
    pub(crate) const ALL: [SkippedKind; 3] =
        [SkippedKind::Matcher, SkippedKind::UserDefinedFunction, SkippedKind::RoleAssignment];

    /// The kind as the output names it: the 2018 route's name in the singular.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SkippedKind::Matcher => "matcher",
            SkippedKind::UserDefinedFunction => "userdefinedfunction",
            SkippedKind::RoleAssignment => "roleassignment",
        }
    }
}

/// Reads `text`; the topology holds every object that could be read, the problems say what could not.
pub(crate) fn parse(text: &str) -> (Topology, Vec<Problem>) {
    let mut reader = Reader { text, problems: Vec::new() };
    let docs = match MarkedYaml::load_from_str(text) {
        Ok(docs) => docs,
        Err(err) => {
            let problem = Problem {
                line: err.marker().line(),
                path: String::new(),
                message: format!("not valid YAML: {}", err.info()),
            };
            return (Topology::default(), vec![problem]);
        }
    };
    let topology = match docs.as_slice() {
        [] => {
            reader.problem(1, "", "the file holds no YAML document; it should be a list of root spaces".to_owned());
            Topology::default()
        }
        [doc] => reader.topology(doc),
        [_, second, ..] => {
            let line = second.span.start.line();
            reader.problem(
                line,
                "",
                "the file holds more than one YAML document; write one list of root spaces".to_owned(),
            );
            Topology::default()
        }
    };
    let mut problems = reader.problems;
    // Stable, so the problems of one line keep the order they were found in.
    problems.sort_by_key(|p| p.line);
    (topology, problems)
}

/// The text of member `name` of `members`.
fn member<'m>(members: &'m Members, name: &str) -> Option<&'m str> {
    members.iter().find(|(m, _)| *m == name).map(|(_, v)| v.as_str())
}

/// A key an object accepts, and the 2018 member its text is sent as (`None` for keys holding lists).
struct Key {
    yaml: &'static str,
    member: Option<&'static str>,
}

const fn text(yaml: &'static str, member: &'static str) -> Key {
    Key { yaml, member: Some(member) }
}

const fn list(yaml: &'static str) -> Key {
    Key { yaml, member: None }
}

const SPACE_KEYS: &[Key] = &[
    text("name", "Name"),
    text("type", "Type"),
    text("subType", "Subtype"),
    text("description", "Description"),
    text("friendlyName", "FriendlyName"),
    list("properties"),
    list("types"),
    list("propertyKeys"),
    list("resources"),
    list("devices"),
    list("users"),
    list("matchers"),
    list("userDefinedFunctions"),
    list("roleAssignments"),
    list("spaces"),
    list("children"),
];

const TYPE_KEYS: &[Key] = &[
    text("category", "Category"),
    text("name", "Name"),
    text("friendlyName", "FriendlyName"),
    text("description", "Description"),
];

const PROPERTY_KEY_KEYS: &[Key] = &[
    text("name", "Name"),
    text("primitiveDataType", "PrimitiveDataType"),
    text("scope", "Scope"),
    text("validationData", "ValidationData"),
    text("min", "Min"),
    text("max", "Max"),
    text("description", "Description"),
    text("category", "Category"),
];

const PROPERTY_KEYS: &[Key] = &[text("name", "Name"), text("value", "Value")];

const RESOURCE_KEYS: &[Key] = &[text("type", "Type")];

const DEVICE_KEYS: &[Key] = &[
    text("name", "Name"),
    text("hardwareId", "HardwareId"),
    text("type", "Type"),
    text("subType", "Subtype"),
    list("sensors"),
];

const SENSOR_KEYS: &[Key] = &[
    text("dataType", "DataType"),
    text("hardwareId", "HardwareId"),
    text("type", "Type"),
    text("portType", "PortType"),
    text("dataUnitType", "DataUnitType"),
    text("dataSubtype", "DataSubtype"),
];

const USER_KEYS: &[Key] = &[text("upn", "Upn"), text("firstName", "FirstName"), text("lastName", "LastName")];

struct Reader<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

/// The entries of a mapping, by the accepted key each one matched.
struct Entries<'y, 'i> {
    place: Place,
    found: Vec<(&'static str, &'y MarkedYaml<'i>, &'y MarkedYaml<'i>)>,
}

impl<'y, 'i> Entries<'y, 'i> {
    /// The key as the file spells it and its value.
    fn get(&self, yaml: &str) -> Option<(&'y MarkedYaml<'i>, &'y MarkedYaml<'i>)> {
        self.found.iter().find(|(k, _, _)| *k == yaml).map(|(_, key, value)| (*key, *value))
    }

    /// Whether key `yaml` is absent, null or an empty text: what a required key must not be (a list or a mapping is reported as the wrong shape instead).
    fn blank(&self, yaml: &str) -> bool {
        match self.get(yaml).map(|(_, value)| &untagged(value).data) {
            None | Some(YamlData::Value(Scalar::Null)) => true,
            Some(YamlData::Value(Scalar::String(text))) => text.trim().is_empty(),
            Some(_) => false,
        }
    }
}

impl<'t> Reader<'t> {
    fn problem(&mut self, line: usize, path: &str, message: String) {
        self.problems.push(Problem { line, path: path.to_owned(), message });
    }

    fn topology<'i>(&mut self, doc: &MarkedYaml<'i>) -> Topology {
        let root = Place { line: doc.span.start.line(), path: String::new() };
        let Some(items) = self.sequence(doc, &root, "the file", "a list of root spaces") else {
            return Topology::default();
        };
        let mut spaces = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let place = Place { line: item.span.start.line(), path: format!("[{index}]") };
            if let Some(space) = self.space(item, place, 1) {
                spaces.push(space);
            }
        }
        self.unique_names(&spaces);
        // Hardware ids are unique on the server, among devices and among sensors, whatever their spaces.
        let mut devices = Vec::new();
        let mut sensors = Vec::new();
        hardware_ids(&spaces, &mut devices, &mut sensors);
        self.unique(devices.into_iter(), "a device of that hardware id");
        self.unique(sensors.into_iter(), "a sensor of that hardware id");
        Topology { spaces }
    }

    fn space<'i>(&mut self, node: &MarkedYaml<'i>, place: Place, depth: usize) -> Option<Space> {
        let entries = self.mapping(node, place, "a space", SPACE_KEYS)?;
        let place = entries.place.clone();
        let members = self.members(&entries, SPACE_KEYS);
        if entries.blank("name") {
            self.problem(place.line, &place.path, "a space needs a `name`".to_owned());
        }
        let name = member(&members, "Name").unwrap_or_default().to_owned();
        let members: Members = members.into_iter().filter(|(m, _)| *m != "Name").collect();
        let mut space = Space { place: place.clone(), name, members, ..Space::default() };
        space.types = self.objects(&entries, "types", ("a type", "a list of types"), TYPE_KEYS, &["category", "name"]);
        self.unique(
            space.types.iter().map(|t| (format!("{}/{}", text_of(t, "Category"), text_of(t, "Name")), &t.place)),
            "a type of that category and name",
        );
        space.property_keys = self.objects(
            &entries,
            "propertyKeys",
            ("a property key", "a list of property keys"),
            PROPERTY_KEY_KEYS,
            &["name"],
        );
        self.unique(
            space.property_keys.iter().map(|k| {
                (format!("{}/{}", k.member("Scope").unwrap_or(super::DEFAULT_KEY_SCOPE), text_of(k, "Name")), &k.place)
            }),
            "a property key of that scope and name",
        );
        space.properties = self.properties(&entries);
        self.unique(space.properties.iter().map(|p| (p.name.clone(), &p.place)), "a property of that name");
        space.resources =
            self.objects(&entries, "resources", ("a resource", "a list of resources"), RESOURCE_KEYS, &["type"]);
        self.unique(
            space.resources.iter().map(|r| (text_of(r, "Type").to_owned(), &r.place)),
            "a resource of that type",
        );
        space.devices = self.devices(&entries);
        space.users = self.objects(&entries, "users", ("a user", "a list of users"), USER_KEYS, &["upn"]);
        self.unique(space.users.iter().map(|u| (text_of(u, "Upn").to_owned(), &u.place)), "a user of that upn");
        for kind in SkippedKind::ALL {
            let (key, identity) = match kind {
                SkippedKind::Matcher => ("matchers", "name"),
                SkippedKind::UserDefinedFunction => ("userDefinedFunctions", "name"),
                SkippedKind::RoleAssignment => ("roleAssignments", "roleId"),
            };
            space.skipped.extend(self.skipped(&entries, key, kind, identity));
        }
        let children = match (entries.get("spaces"), entries.get("children")) {
            (Some(_), Some((key, _))) => {
                let line = key.span.start.line();
                self.problem(
                    line,
                    &place.path,
                    "`spaces` and `children` both list child spaces; use one of them".to_owned(),
                );
                None
            }
            (Some(found), None) | (None, Some(found)) => Some(found),
            (None, None) => None,
        };
        if let Some((key, value)) = children {
            let spelled = self.key_text(key);
            let key_place = Place { line: key.span.start.line(), path: join(&place.path, &spelled) };
            if depth == SPACE_DEPTH_MAX {
                self.problem(
                    key_place.line,
                    &key_place.path,
                    format!("spaces nest deeper than {SPACE_DEPTH_MAX} levels; that is the limit"),
                );
            } else if let Some(items) = self.sequence(value, &key_place, &format!("`{spelled}`"), "a list of spaces") {
                for (index, item) in items.iter().enumerate() {
                    let child = Place { line: item.span.start.line(), path: format!("{}[{index}]", key_place.path) };
                    if let Some(child) = self.space(item, child, depth + 1) {
                        space.children.push(child);
                    }
                }
                self.unique_names(&space.children);
            }
        }
        Some(space)
    }

    /// Sibling spaces with the same name (ignoring case) would be found as one space on the server.
    fn unique_names(&mut self, spaces: &[Space]) {
        self.unique(
            spaces.iter().filter(|s| !s.name.is_empty()).map(|s| (s.name.clone(), &s.place)),
            "a sibling space of that name",
        );
    }

    /// Reports each item whose identity (compared ignoring case) an earlier item has: on the server they would be one object.
    fn unique<'p>(&mut self, items: impl Iterator<Item = (String, &'p Place)>, what: &str) {
        let mut seen: Vec<(String, usize)> = Vec::new();
        for (identity, place) in items {
            let lower = identity.to_lowercase();
            match seen.iter().find(|(s, _)| *s == lower) {
                Some((_, line)) => {
                    let message = format!("{what} is already at line {line}: `{identity}`");
                    self.problem(place.line, &place.path, message);
                }
                None => seen.push((lower, place.line)),
            }
        }
    }

    fn devices<'i>(&mut self, entries: &Entries<'_, 'i>) -> Vec<Device> {
        let mut devices = Vec::new();
        for (node, place) in self.items(entries, "devices", "a list of devices") {
            let Some(device) = self.mapping(node, place, "a device", DEVICE_KEYS) else { continue };
            let members = self.members(&device, DEVICE_KEYS);
            if device.blank("name") && device.blank("hardwareId") {
                self.problem(
                    device.place.line,
                    &device.place.path,
                    "a device needs a `name` or a `hardwareId`".to_owned(),
                );
            }
            let sensors = self.objects(&device, "sensors", ("a sensor", "a list of sensors"), SENSOR_KEYS, &[]);
            devices.push(Device { place: device.place, members, sensors });
        }
        // A device without a hardware id is found by its name in its space.
        let unnamed = devices.iter().filter(|d| d.member("HardwareId").is_none());
        self.unique(
            unnamed.filter_map(|d| Some((d.member("Name")?.to_owned(), &d.place))),
            "a device of that name and no hardware id",
        );
        devices
    }

    /// A list of objects of one shape under `key`, each needing the keys in `required`.
    fn objects<'i>(
        &mut self,
        entries: &Entries<'_, 'i>,
        key: &str,
        (what, shape): (&str, &str),
        keys: &[Key],
        required: &[&str],
    ) -> Vec<Object> {
        let mut objects = Vec::new();
        for (node, place) in self.items(entries, key, shape) {
            let Some(object) = self.mapping(node, place, what, keys) else { continue };
            let members = self.members(&object, keys);
            for needed in required {
                if object.blank(needed) {
                    self.problem(object.place.line, &object.place.path, format!("{what} needs a `{needed}`"));
                }
            }
            objects.push(Object { place: object.place, members });
        }
        objects
    }

    /// `properties`: a list of `{name, value}` or a mapping of names to values.
    fn properties<'i>(&mut self, entries: &Entries<'_, 'i>) -> Vec<Property> {
        let Some((key, value)) = entries.get("properties") else { return Vec::new() };
        let spelled = self.key_text(key);
        let path = join(&entries.place.path, &spelled);
        let mut properties = Vec::new();
        match &value.data {
            YamlData::Mapping(map) => {
                for (name, value) in map {
                    let name_text = self.key_text(name);
                    let place = Place { line: name.span.start.line(), path: join(&path, &name_text) };
                    match self.scalar(value, &place, "the value") {
                        Some(value) => properties.push(Property { place, name: name_text, value }),
                        None => self.problem(place.line, &place.path, format!("property `{name_text}` needs a value")),
                    }
                }
            }
            _ => {
                let place = Place { line: key.span.start.line(), path: path.clone() };
                let items = self.sequence(
                    value,
                    &place,
                    &format!("`{spelled}`"),
                    "a list of {name, value} or a mapping of names to values",
                );
                for (index, item) in items.unwrap_or_default().into_iter().enumerate() {
                    let place = Place { line: item.span.start.line(), path: format!("{path}[{index}]") };
                    let Some(entries) = self.mapping(item, place, "a property", PROPERTY_KEYS) else { continue };
                    let members = self.members(&entries, PROPERTY_KEYS);
                    let (name, value) = (member(&members, "Name"), member(&members, "Value"));
                    for needed in ["name", "value"] {
                        if entries.blank(needed) {
                            let message = format!("a property needs a `{needed}`");
                            self.problem(entries.place.line, &entries.place.path, message);
                        }
                    }
                    if let (Some(name), Some(value)) = (name, value) {
                        properties.push(Property {
                            place: entries.place,
                            name: name.to_owned(),
                            value: value.to_owned(),
                        });
                    }
                }
            }
        }
        properties
    }

    /// Entries this server does not provision yet: a list of mappings, each with its `identity` key as a text.
    fn skipped<'i>(&mut self, entries: &Entries<'_, 'i>, key: &str, kind: SkippedKind, identity: &str) -> Vec<Skipped> {
        let mut skipped = Vec::new();
        for (node, place) in self.items(entries, key, "a list of mappings") {
            let YamlData::Mapping(map) = &untagged(node).data else {
                let found = describe(node);
                self.problem(place.line, &place.path, format!("each entry of `{key}` must be a mapping, not {found}"));
                continue;
            };
            let mut name = None;
            let mut role_object = None;
            for (k, v) in map {
                let spelled = self.key_text(k);
                if spelled.eq_ignore_ascii_case(identity) {
                    name = self.scalar(v, &place, &format!("`{spelled}`"));
                } else if kind == SkippedKind::RoleAssignment && spelled.eq_ignore_ascii_case("objectName") {
                    role_object = self.scalar(v, &place, "`objectName`");
                }
            }
            let Some(mut name) = name else {
                self.problem(place.line, &place.path, format!("a {} needs a `{identity}`", kind.name()));
                continue;
            };
            if let Some(object) = role_object {
                name = format!("{name} to {object}");
            }
            skipped.push(Skipped { place, kind, name });
        }
        skipped
    }

    /// The items of the list under `key`, with their places; nothing when the key is absent or null.
    fn items<'y, 'i>(&mut self, entries: &Entries<'y, 'i>, key: &str, shape: &str) -> Vec<(&'y MarkedYaml<'i>, Place)> {
        let Some((key_node, value)) = entries.get(key) else { return Vec::new() };
        let spelled = self.key_text(key_node);
        let path = join(&entries.place.path, &spelled);
        let place = Place { line: key_node.span.start.line(), path: path.clone() };
        let items = self.sequence(value, &place, &format!("`{spelled}`"), shape).unwrap_or_default();
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (item, Place { line: item.span.start.line(), path: format!("{path}[{index}]") }))
            .collect()
    }

    /// A mapping's entries, each key one of `keys` (ignoring case) and given once; `None` (and a problem) for anything else than a mapping.
    fn mapping<'y, 'i>(
        &mut self,
        node: &'y MarkedYaml<'i>,
        place: Place,
        what: &str,
        keys: &[Key],
    ) -> Option<Entries<'y, 'i>> {
        let YamlData::Mapping(map) = &untagged(node).data else {
            let found = describe(node);
            self.problem(place.line, &place.path, format!("{what} must be a mapping of keys to values, not {found}"));
            return None;
        };
        let mut found: Vec<(&'static str, &'y MarkedYaml<'i>, &'y MarkedYaml<'i>)> = Vec::new();
        for (key, value) in map {
            let spelled = self.key_text(key);
            let line = key.span.start.line();
            let Some(accepted) = keys.iter().find(|k| k.yaml.eq_ignore_ascii_case(&spelled)) else {
                let names: Vec<&str> = keys.iter().map(|k| k.yaml).collect();
                let message = format!("unknown key `{spelled}` in {what}; it takes {}", names.join(", "));
                self.problem(line, &join(&place.path, &spelled), message);
                continue;
            };
            if let Some((_, first, _)) = found.iter().find(|(k, _, _)| *k == accepted.yaml) {
                let first_spelled = self.key_text(first);
                let message = format!(
                    "`{spelled}` is given twice in {what} (also as `{first_spelled}` at line {})",
                    first.span.start.line()
                );
                self.problem(line, &join(&place.path, &spelled), message);
                continue;
            }
            found.push((accepted.yaml, key, value));
        }
        Some(Entries { place, found })
    }

    /// The texts of the text keys among `entries`, as 2018 members; an empty text counts as absent.
    fn members(&mut self, entries: &Entries<'_, '_>, keys: &[Key]) -> Members {
        let mut members = Members::new();
        for key in keys {
            let (Some(member), Some((key_node, value))) = (key.member, entries.get(key.yaml)) else { continue };
            let spelled = self.key_text(key_node);
            let place = Place { line: key_node.span.start.line(), path: join(&entries.place.path, &spelled) };
            if let Some(text) = self.scalar(value, &place, &format!("`{spelled}`"))
                && !text.is_empty()
            {
                members.push((member, text));
            }
        }
        members
    }

    /// A list, or nothing for a null value; a problem for anything else.
    fn sequence<'y, 'i>(
        &mut self,
        node: &'y MarkedYaml<'i>,
        place: &Place,
        what: &str,
        shape: &str,
    ) -> Option<Vec<&'y MarkedYaml<'i>>> {
        match &untagged(node).data {
            YamlData::Sequence(items) => Some(items.iter().collect()),
            YamlData::Value(Scalar::Null) => Some(Vec::new()),
            _ => {
                let found = describe(node);
                self.problem(place.line, &place.path, format!("{what} must be {shape}, not {found}"));
                None
            }
        }
    }

    /// A scalar's text as written (`007` stays `007`, `1.50` stays `1.50`); `None` for null, and a problem for a list or mapping.
    fn scalar(&mut self, node: &MarkedYaml<'_>, place: &Place, what: &str) -> Option<String> {
        let node = untagged(node);
        match &node.data {
            YamlData::Value(Scalar::Null) => None,
            YamlData::Value(Scalar::String(text)) => Some(text.to_string()),
            YamlData::Value(_) | YamlData::Representation(..) => Some(self.source(node)),
            _ => {
                let found = describe(node);
                self.problem(place.line, &place.path, format!("{what} must be a text, not {found}"));
                None
            }
        }
    }

    /// A key's text as written.
    fn key_text(&self, key: &MarkedYaml<'_>) -> String {
        match &untagged(key).data {
            YamlData::Value(Scalar::String(text)) => text.to_string(),
            _ => self.source(key),
        }
    }

    /// The source text of a node; a plain scalar's is what the file says, before YAML reads it as a number or a boolean.
    fn source(&self, node: &MarkedYaml<'_>) -> String {
        let (start, end) = (node.span.start.index(), node.span.end.index());
        // Markers count characters; in an ASCII file those are bytes.
        if self.text.is_ascii() {
            return self.text.get(start..end).unwrap_or_default().trim().to_owned();
        }
        self.text.chars().skip(start).take(end.saturating_sub(start)).collect::<String>().trim().to_owned()
    }
}

/// A tagged node's content (`!custom value` is read as `value`).
fn untagged<'y, 'i>(node: &'y MarkedYaml<'i>) -> &'y MarkedYaml<'i> {
    match &node.data {
        YamlData::Tagged(_, inner) => untagged(inner),
        _ => node,
    }
}

/// What a node is, for messages.
fn describe(node: &MarkedYaml<'_>) -> &'static str {
    match &untagged(node).data {
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Value(Scalar::Null) => "nothing",
        _ => "a text",
    }
}

/// `path.key`, or `key` at the top.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The hardware ids of the devices and of the sensors under `spaces`, with their places, in file order.
fn hardware_ids<'s>(
    spaces: &'s [Space],
    devices: &mut Vec<(String, &'s Place)>,
    sensors: &mut Vec<(String, &'s Place)>,
) {
    for space in spaces {
        for device in &space.devices {
            devices.extend(device.member("HardwareId").map(|h| (h.to_owned(), &device.place)));
            sensors.extend(device.sensors.iter().filter_map(|s| Some((s.member("HardwareId")?.to_owned(), &s.place))));
        }
        hardware_ids(&space.children, devices, sensors);
    }
}

fn text_of<'o>(object: &'o Object, name: &str) -> &'o str {
    object.member(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::{Members, Object, Place, Space, parse};

    /// Reads `yaml` and shows the topology, one object a line with its line and path, then the problems.
    fn check(yaml: &str, expect: Expect) {
        let (topology, problems) = parse(yaml);
        let mut out = String::new();
        for space in &topology.spaces {
            show_space(space, 0, &mut out);
        }
        for problem in &problems {
            out.push_str(&format!("problem {} {}: {}\n", problem.line, problem.path, problem.message));
        }
        expect.assert_eq(&out);
    }

    fn show_space(space: &Space, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        line(out, &pad, "space", &space.place, &format!("{:?} {}", space.name, members(&space.members)));
        let pad = "  ".repeat(depth + 1);
        let objects = |out: &mut String, kind: &str, objects: &[Object]| {
            for object in objects {
                line(out, &pad, kind, &object.place, &members(&object.members));
            }
        };
        objects(out, "type", &space.types);
        objects(out, "propertykey", &space.property_keys);
        for property in &space.properties {
            line(out, &pad, "property", &property.place, &format!("{} = {:?}", property.name, property.value));
        }
        objects(out, "resource", &space.resources);
        for device in &space.devices {
            line(out, &pad, "device", &device.place, &members(&device.members));
            for sensor in &device.sensors {
                line(out, &format!("{pad}  "), "sensor", &sensor.place, &members(&sensor.members));
            }
        }
        objects(out, "user", &space.users);
        for skipped in &space.skipped {
            line(out, &pad, skipped.kind.name(), &skipped.place, &format!("{:?}", skipped.name));
        }
        for child in &space.children {
            show_space(child, depth + 1, out);
        }
    }

    fn line(out: &mut String, pad: &str, kind: &str, place: &Place, what: &str) {
        out.push_str(&format!("{pad}{kind} {what} (line {}, {})\n", place.line, place.path));
    }

    fn members(members: &Members) -> String {
        let shown: Vec<String> = members.iter().map(|(m, v)| format!("{m}={v:?}")).collect();
        shown.join(" ")
    }

    #[test]
    fn the_occupancy_example() {
        check(
            include_str!("../../../../examples/provision/occupancy.yaml"),
            expect![[r#"
                space "Quickstart Building" Type="Venue" (line 9, [0])
                  resource Type="IoTHub" (line 12, [0].resources[0])
                  space "Floor 1" Type="Floor" (line 14, [0].spaces[0])
                    space "Area A" Type="Area" (line 17, [0].spaces[0].spaces[0])
                    space "Conference Room 11" Type="Room" Subtype="ConferenceRoom" (line 19, [0].spaces[0].spaces[1])
                    space "Focus Room A1" Type="Room" Subtype="FocusRoom" (line 22, [0].spaces[0].spaces[2])
                      device Name="Raspberry Pi 3 A1" HardwareId="1234567890AB" (line 26, [0].spaces[0].spaces[2].devices[0])
                        sensor DataType="Motion" HardwareId="SAMPLE_SENSOR_MOTION" (line 29, [0].spaces[0].spaces[2].devices[0].sensors[0])
                        sensor DataType="CarbonDioxide" HardwareId="SAMPLE_SENSOR_CARBONDIOXIDE" (line 31, [0].spaces[0].spaces[2].devices[0].sensors[1])
                      matcher "Matcher Motion A1" (line 34, [0].spaces[0].spaces[2].matchers[0])
                      matcher "Matcher CarbonDioxide A1" (line 36, [0].spaces[0].spaces[2].matchers[1])
                      userdefinedfunction "Motion Processor" (line 39, [0].spaces[0].spaces[2].userdefinedfunctions[0])
                      roleassignment "98e44ad7-28d4-4007-853b-b9968ad132d1 to Motion Processor" (line 46, [0].spaces[0].spaces[2].roleassignments[0])
            "#]],
        );
    }

    #[test]
    fn every_key_and_both_forms_of_properties() {
        check(
            r#"
- name: HQ
  Type: Building
  subtype: Office
  description: The head office
  friendlyName: Head office
  types:
  - {category: SpaceSubtype, name: Wing, friendlyName: A wing, description: Part of a floor}
  propertyKeys:
  - name: AreaInSqMeters
    primitiveDataType: Int
    min: 0
    max: 10000
  - {name: Label, scope: Devices, validationData: "[A-Z]+", description: d, category: c}
  properties:
    AreaInSqMeters: 1200
    Opened: 2019-01-01
  users:
  - {upn: ada@example.com, firstName: Ada, lastName: Lovelace}
  children:
  - name: West
    subType: Wing
    properties:
    - {name: AreaInSqMeters, value: 007}
    - name: Label
      value: "yes"
    devices:
    - hardwareId: 00AABBCCDDEE
      type: Gateway
      subType: ~
      sensors:
      - {dataType: Temperature, type: Classic, portType: None, dataUnitType: Celsius, dataSubtype: None}
      - hardwareId: 1.50
    resources:
"#,
            expect![[r#"
                space "HQ" Type="Building" Subtype="Office" Description="The head office" FriendlyName="Head office" (line 2, [0])
                  type Category="SpaceSubtype" Name="Wing" FriendlyName="A wing" Description="Part of a floor" (line 8, [0].types[0])
                  propertykey Name="AreaInSqMeters" PrimitiveDataType="Int" Min="0" Max="10000" (line 10, [0].propertyKeys[0])
                  propertykey Name="Label" Scope="Devices" ValidationData="[A-Z]+" Description="d" Category="c" (line 14, [0].propertyKeys[1])
                  property AreaInSqMeters = "1200" (line 16, [0].properties.AreaInSqMeters)
                  property Opened = "2019-01-01" (line 17, [0].properties.Opened)
                  user Upn="ada@example.com" FirstName="Ada" LastName="Lovelace" (line 19, [0].users[0])
                  space "West" Subtype="Wing" (line 21, [0].children[0])
                    property AreaInSqMeters = "007" (line 24, [0].children[0].properties[0])
                    property Label = "yes" (line 25, [0].children[0].properties[1])
                    device HardwareId="00AABBCCDDEE" Type="Gateway" (line 28, [0].children[0].devices[0])
                      sensor DataType="Temperature" Type="Classic" PortType="None" DataUnitType="Celsius" DataSubtype="None" (line 32, [0].children[0].devices[0].sensors[0])
                      sensor HardwareId="1.50" (line 33, [0].children[0].devices[0].sensors[1])
            "#]],
        );
    }

    #[test]
    fn unknown_keys_missing_names_and_wrong_shapes_are_all_reported() {
        check(
            r#"
- name: HQ
  colour: blue
  spaces:
  - type: Floor
    devices:
    - sensors: [{dataType: Motion, serial: 12}]
  - name: [Floor, 2]
    users: ada@example.com
    types: [{name: Wing}]
    propertyKeys: [{scope: Spaces}]
    resources: [{}]
    properties: [{name: Area}, {value: 3}, {name: A, value: [1]}]
    matchers: [{dataTypeValue: Motion}, Matcher]
    roleAssignments: [{objectName: f}]
- Plain text
"#,
            expect![[r#"
                space "HQ"  (line 2, [0])
                  space "" Type="Floor" (line 5, [0].spaces[0])
                    device  (line 7, [0].spaces[0].devices[0])
                      sensor DataType="Motion" (line 7, [0].spaces[0].devices[0].sensors[0])
                  space ""  (line 8, [0].spaces[1])
                    type Name="Wing" (line 10, [0].spaces[1].types[0])
                    propertykey Scope="Spaces" (line 11, [0].spaces[1].propertyKeys[0])
                    resource  (line 12, [0].spaces[1].resources[0])
                problem 3 [0].colour: unknown key `colour` in a space; it takes name, type, subType, description, friendlyName, properties, types, propertyKeys, resources, devices, users, matchers, userDefinedFunctions, roleAssignments, spaces, children
                problem 5 [0].spaces[0]: a space needs a `name`
                problem 7 [0].spaces[0].devices[0]: a device needs a `name` or a `hardwareId`
                problem 7 [0].spaces[0].devices[0].sensors[0].serial: unknown key `serial` in a sensor; it takes dataType, hardwareId, type, portType, dataUnitType, dataSubtype
                problem 8 [0].spaces[1].name: `name` must be a text, not a list
                problem 9 [0].spaces[1].users: `users` must be a list of users, not a text
                problem 10 [0].spaces[1].types[0]: a type needs a `category`
                problem 11 [0].spaces[1].propertyKeys[0]: a property key needs a `name`
                problem 12 [0].spaces[1].resources[0]: a resource needs a `type`
                problem 13 [0].spaces[1].properties[0]: a property needs a `value`
                problem 13 [0].spaces[1].properties[1]: a property needs a `name`
                problem 13 [0].spaces[1].properties[2].value: `value` must be a text, not a list
                problem 14 [0].spaces[1].matchers[0]: a matcher needs a `name`
                problem 14 [0].spaces[1].matchers[1]: each entry of `matchers` must be a mapping, not a text
                problem 15 [0].spaces[1].roleAssignments[0]: a roleassignment needs a `roleId`
                problem 16 [1]: a space must be a mapping of keys to values, not a text
            "#]],
        );
    }

    #[test]
    fn objects_the_server_would_merge_are_reported() {
        check(
            r#"
- name: HQ
  subType: Office
  SubType: Hotel
  spaces:
  - {name: Area A}
  - {name: area a}
  children:
  - {name: B}
- name: HQ
  devices:
  - {name: Pi, hardwareId: D1, sensors: [{hardwareId: S1}, {hardwareId: s1}]}
  - {name: Pi, hardwareId: D2}
  - {name: Hub}
  - {name: hub}
  properties: [{name: a, value: 1}, {name: A, value: 2}]
  users: [{upn: ada@example.com}, {upn: ADA@example.com}]
  resources: [{type: IoTHub}, {type: IoTHub}]
  types: [{category: SpaceType, name: Wing}, {category: SpaceSubtype, name: Wing}, {category: spacetype, name: wing}]
  propertyKeys: [{name: K}, {name: K, scope: Devices}, {name: k, scope: spaces}]
- name: Elsewhere
  devices: [{hardwareId: d1}]
"#,
            expect![[r#"
                space "HQ" Subtype="Office" (line 2, [0])
                space "HQ"  (line 10, [1])
                  type Category="SpaceType" Name="Wing" (line 19, [1].types[0])
                  type Category="SpaceSubtype" Name="Wing" (line 19, [1].types[1])
                  type Category="spacetype" Name="wing" (line 19, [1].types[2])
                  propertykey Name="K" (line 20, [1].propertyKeys[0])
                  propertykey Name="K" Scope="Devices" (line 20, [1].propertyKeys[1])
                  propertykey Name="k" Scope="spaces" (line 20, [1].propertyKeys[2])
                  property a = "1" (line 16, [1].properties[0])
                  property A = "2" (line 16, [1].properties[1])
                  resource Type="IoTHub" (line 18, [1].resources[0])
                  resource Type="IoTHub" (line 18, [1].resources[1])
                  device Name="Pi" HardwareId="D1" (line 12, [1].devices[0])
                    sensor HardwareId="S1" (line 12, [1].devices[0].sensors[0])
                    sensor HardwareId="s1" (line 12, [1].devices[0].sensors[1])
                  device Name="Pi" HardwareId="D2" (line 13, [1].devices[1])
                  device Name="Hub" (line 14, [1].devices[2])
                  device Name="hub" (line 15, [1].devices[3])
                  user Upn="ada@example.com" (line 17, [1].users[0])
                  user Upn="ADA@example.com" (line 17, [1].users[1])
                space "Elsewhere"  (line 21, [2])
                  device HardwareId="d1" (line 22, [2].devices[0])
                problem 4 [0].SubType: `SubType` is given twice in a space (also as `subType` at line 3)
                problem 8 [0]: `spaces` and `children` both list child spaces; use one of them
                problem 10 [1]: a sibling space of that name is already at line 2: `HQ`
                problem 12 [1].devices[0].sensors[1]: a sensor of that hardware id is already at line 12: `s1`
                problem 15 [1].devices[3]: a device of that name and no hardware id is already at line 14: `hub`
                problem 16 [1].properties[1]: a property of that name is already at line 16: `A`
                problem 17 [1].users[1]: a user of that upn is already at line 17: `ADA@example.com`
                problem 18 [1].resources[1]: a resource of that type is already at line 18: `IoTHub`
                problem 19 [1].types[2]: a type of that category and name is already at line 19: `spacetype/wing`
                problem 20 [1].propertyKeys[2]: a property key of that scope and name is already at line 20: `spaces/k`
                problem 22 [2].devices[0]: a device of that hardware id is already at line 12: `d1`
            "#]],
        );
    }

    #[test]
    fn files_that_are_not_a_list_of_spaces() {
        check(
            "",
            expect![[r#"
            problem 1 : the file holds no YAML document; it should be a list of root spaces
        "#]],
        );
        check(
            "name: HQ\n",
            expect![[r#"
            problem 1 : the file must be a list of root spaces, not a mapping
        "#]],
        );
        check(
            "- name: HQ\n---\n- name: Other\n",
            expect![[r#"
            problem 3 : the file holds more than one YAML document; write one list of root spaces
        "#]],
        );
        check(
            "- name: HQ\n  type: [Venue\n",
            expect![[r#"
            problem 3 : not valid YAML: while parsing a flow sequence, expected ',' or ']'
        "#]],
        );
        check(
            "- name: HQ\n  name: Again\n",
            expect![[r#"
            problem 2 : not valid YAML: duplicated key in mapping
        "#]],
        );
        check(
            "- &a {name: HQ, spaces: [*a]}\n",
            expect![[r#"
            space "HQ"  (line 1, [0])
            problem 1 [0].spaces[0]: a space must be a mapping of keys to values, not a text
        "#]],
        );
    }
}
