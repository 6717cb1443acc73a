//! Spaces, devices, sensors and users as the 2018 face shows and takes them: `View` renders a twin of a built-in model as its 2018 object (camelCase, with the sections `Includes` asks for), and the write helpers turn a 2018 body into twin properties (extended types by name or id, extended properties checked against property keys) and containment relationships.
//!
//! Where an object lives is the containment tree: a space's parent space, a device's space, a sensor's device (whose space is the sensor's), a user's space.
//! Type names (`type`, `dataType`, …) are shown with `includes=types`; their ids always.

use graph::{Change, Precondition, TenantGraph, Twin};
use ontology::{Category, ObjectKind};
use serde_json::{Map, Value, json};
use spatial::navigate::Kinds;
use spatial::properties::Scope;
use spatial::state::{Spatial, TypeRef, UsableType};

use super::{Body, Includes, MgmtError, kind_name};
use crate::data::{Tenant, Written};

/// A read of the 2018 face: the tenant's graph and 2018 state, and which twins are of which kind.
pub(crate) struct View<'a> {
    pub graph: &'a TenantGraph,
    pub spatial: &'a Spatial,
    pub kinds: Kinds<'a>,
    /// The host name devices connect to, for connection strings.
    pub host: Option<&'a str>,
}

impl<'a> View<'a> {
    pub(crate) fn new(tenant: &'a Tenant) -> View<'a> {
        View { graph: &tenant.graph, spatial: &tenant.spatial, kinds: tenant.kinds(), host: None }
    }

    fn twin(&self, slot: u32) -> Option<&'a Twin> {
        self.graph.twin_at(slot)
    }

    fn id(&self, slot: u32) -> Option<&'a str> {
        self.twin(slot).map(|t| t.id.as_str())
    }

    /// The space an object is in: a space's parent space, a device's or user's space, a sensor's device's.
    pub(crate) fn space_of(&self, slot: u32, kind: ObjectKind) -> Option<u32> {
        match kind {
            ObjectKind::Space => {
                self.graph.parent_at(slot).filter(|&p| self.kinds.kind_at(p) == Some(ObjectKind::Space))
            }
            ObjectKind::Device | ObjectKind::Sensor | ObjectKind::User => {
                self.graph.parent_at(slot).and_then(|p| self.kinds.space_of(p))
            }
        }
    }

    /// The objects of `kind` directly under an object (for sensors of a space, also those under its devices).
    pub(crate) fn children_of_kind(&self, slot: u32, kind: ObjectKind) -> Vec<u32> {
        let of_kind = |s: &u32| self.kinds.kind_at(*s) == Some(kind);
        match kind {
            // A device's sensors are its children; a space's are those of its devices, and any placed on the space itself.
            ObjectKind::Sensor => self
                .graph
                .children_at(slot)
                .flat_map(|c| match self.kinds.kind_at(c) {
                    Some(ObjectKind::Device) => self.graph.children_at(c).filter(of_kind).collect(),
                    Some(ObjectKind::Sensor) => vec![c],
                    _ => Vec::new(),
                })
                .collect(),
            _ => self.graph.children_at(slot).filter(of_kind).collect(),
        }
    }

    /// The path of the closest space at or above `slot`, root first: what types, property keys, resources and key stores are looked up along.
    pub(crate) fn space_path(&self, slot: u32) -> Vec<&'a str> {
        match self.kinds.space_of(slot) {
            Some(space) => self.graph.path_at(space),
            None => Vec::new(),
        }
    }

    /// The 2018 object of the twin in `slot`, of `kind`, with the sections `includes` asks for.
    pub(crate) fn render(&self, slot: u32, kind: ObjectKind, includes: &Includes) -> Value {
        let Some(twin) = self.twin(slot) else { return Value::Null };
        self.render_doc(slot, kind, includes, &twin.doc())
    }

    /// `render` of a twin whose document the caller has read already.
    fn render_doc(&self, slot: u32, kind: ObjectKind, includes: &Includes, doc: &Map<String, Value>) -> Value {
        let Some(twin) = self.twin(slot) else { return Value::Null };
        let mut out = Map::new();
        out.insert("id".to_owned(), json!(twin.id));
        for member in ["name", "friendlyName", "description"] {
            copy(doc, &mut out, member);
        }
        let types = includes.has("types");
        for category in Category::ALL {
            if let Some((of, name, id)) = category.twin_properties()
                && of == kind
            {
                copy(doc, &mut out, id);
                if types {
                    copy(doc, &mut out, name);
                }
            }
        }
        match kind {
            ObjectKind::Space => {
                let parent = self.graph.parent_at(slot).and_then(|p| self.id(p));
                out.insert("parentSpaceId".to_owned(), json!(parent));
                if includes.has("timezone") {
                    copy(doc, &mut out, "timeZoneId");
                    let name = doc
                        .get("timeZoneId")
                        .and_then(Value::as_u64)
                        .and_then(|id| super::system::TIME_ZONES.get(usize::try_from(id).ok()?.checked_sub(1)?));
                    if let Some(name) = name {
                        out.insert("timeZoneName".to_owned(), json!(name));
                    }
                    out.insert(
                        "effectiveTimeZoneId".to_owned(),
                        self.inherited(slot, "timeZoneId").unwrap_or(Value::Null),
                    );
                }
            }
            ObjectKind::Device => {
                for member in ["hardwareId", "gatewayId", "status"] {
                    copy(doc, &mut out, member);
                }
                out.insert("spaceId".to_owned(), json!(self.space_of(slot, kind).and_then(|s| self.id(s))));
            }
            ObjectKind::Sensor => {
                for member in ["hardwareId", "port", "pollRate"] {
                    copy(doc, &mut out, member);
                }
                let device = self.graph.parent_at(slot).filter(|&d| self.kinds.kind_at(d) == Some(ObjectKind::Device));
                out.insert("deviceId".to_owned(), json!(device.and_then(|d| self.id(d))));
                out.insert("spaceId".to_owned(), json!(self.space_of(slot, kind).and_then(|s| self.id(s))));
            }
            ObjectKind::User => {
                for member in ["upn", "firstName", "lastName", "managerName", "metadata"] {
                    copy(doc, &mut out, member);
                }
                out.insert("spaceId".to_owned(), json!(self.space_of(slot, kind).and_then(|s| self.id(s))));
            }
        }
        if includes.has("location") {
            copy(doc, &mut out, "location");
            out.insert("effectiveLocation".to_owned(), self.inherited(slot, "location").unwrap_or(Value::Null));
        }
        if includes.has("description") {
            copy(doc, &mut out, "description");
        }
        if includes.has("properties") {
            out.insert("properties".to_owned(), self.properties(slot, kind, doc));
        }
        if includes.has("fullpath") {
            out.insert("spacePaths".to_owned(), json!([self.path_text(slot, kind)]));
        }
        self.relations(slot, kind, doc, includes, &mut out);
        Value::Object(out)
    }

    /// The `space` and `fullpath` sections of an object that hangs off the space `space_id` (resources, key stores, custom types): the space as `GET spaces/{id}` shows it, and `spacePaths`; `null` and `[]` once the space is gone (its twin deleted through the data plane).
    pub(crate) fn space_section(&self, space_id: &str, section: &str) -> Value {
        let space = self.graph.slot(space_id);
        match section {
            "space" => space.map_or(Value::Null, |slot| self.render(slot, ObjectKind::Space, &Includes::default())),
            _ => json!(space.map(|slot| self.path_text(slot, ObjectKind::Space)).into_iter().collect::<Vec<_>>()),
        }
    }

    /// A property of the object or, when it has none, of the closest object above it that has one (`effectiveLocation`, `effectiveTimeZoneId`).
    fn inherited(&self, slot: u32, property: &str) -> Option<Value> {
        std::iter::once(slot).chain(self.graph.ancestors_at(slot)).find_map(|s| self.twin(s)?.property(property))
    }

    /// The `/<root>/…/<space>` path of an object: its own for a space, its space's for the others.
    pub(crate) fn path_text(&self, slot: u32, kind: ObjectKind) -> String {
        let space = if kind == ObjectKind::Space { Some(slot) } else { self.space_of(slot, kind) };
        match space {
            Some(space) => {
                let ids = self.graph.path_at(space);
                let mut path = String::with_capacity(ids.iter().map(|id| 1 + id.len()).sum());
                for id in ids {
                    path.push('/');
                    path.push_str(id);
                }
                path
            }
            None => "/".to_owned(),
        }
    }

    /// `properties`: the twin's extended properties with the data type of their keys.
    fn properties(&self, slot: u32, kind: ObjectKind, doc: &Map<String, Value>) -> Value {
        let Some(Value::Object(values)) = doc.get("properties") else { return json!([]) };
        let path = self.space_path(slot);
        let scope = scope_of(kind);
        let items: Vec<Value> = values
            .iter()
            .map(|(name, value)| {
                let data_type =
                    self.spatial.usable_property_key(name, scope, &path).map(|k| k.primitive_data_type.name());
                json!({ "name": name, "value": value, "dataType": data_type.unwrap_or("None") })
            })
            .collect();
        Value::Array(items)
    }

    /// The related objects `includes` asks for: `<relation>`, `<relation>types`, `<relation>values`, `<relation>properties`.
    fn relations(
        &self,
        slot: u32,
        kind: ObjectKind,
        doc: &Map<String, Value>,
        includes: &Includes,
        out: &mut Map<String, Value>,
    ) {
        let nested = |relation: &str| {
            let mut sections = Vec::new();
            for suffix in ["types", "values", "properties"] {
                if includes.has(&format!("{relation}{suffix}")) {
                    sections.push(if suffix == "values" && relation == "sensors" { "value" } else { suffix });
                }
            }
            Includes::of(&sections)
        };
        let wants = |relation: &str| {
            includes.has(relation)
                || ["types", "values", "properties"].iter().any(|s| includes.has(&format!("{relation}{s}")))
        };
        let list = |slots: Vec<u32>, of: ObjectKind, inner: &Includes| -> Value {
            Value::Array(slots.into_iter().map(|s| self.render(s, of, inner)).collect())
        };
        match kind {
            ObjectKind::Space => {
                if includes.has("values") {
                    out.insert("values".to_owned(), space_values(doc));
                }
                if wants("devices") {
                    out.insert(
                        "devices".to_owned(),
                        list(self.children_of_kind(slot, ObjectKind::Device), ObjectKind::Device, &nested("devices")),
                    );
                }
                if wants("sensors") {
                    out.insert(
                        "sensors".to_owned(),
                        list(self.children_of_kind(slot, ObjectKind::Sensor), ObjectKind::Sensor, &nested("sensors")),
                    );
                }
                if wants("childspaces") {
                    out.insert(
                        "children".to_owned(),
                        list(self.children_of_kind(slot, ObjectKind::Space), ObjectKind::Space, &nested("childspaces")),
                    );
                }
                if wants("users") {
                    out.insert(
                        "users".to_owned(),
                        list(self.children_of_kind(slot, ObjectKind::User), ObjectKind::User, &nested("users")),
                    );
                }
                if wants("parent") {
                    let parent =
                        self.space_of(slot, kind).map(|p| self.render(p, ObjectKind::Space, &nested("parent")));
                    out.insert("parent".to_owned(), parent.unwrap_or(Value::Null));
                }
                if includes.has("resources") {
                    let id = self.id(slot).unwrap_or_default();
                    let resources: Vec<Value> =
                        self.spatial.resources().filter(|r| r.space_id == id).map(|r| r.to_json()).collect();
                    out.insert("resources".to_owned(), Value::Array(resources));
                }
            }
            ObjectKind::Device => {
                if wants("sensors") {
                    out.insert(
                        "sensors".to_owned(),
                        list(self.children_of_kind(slot, ObjectKind::Sensor), ObjectKind::Sensor, &nested("sensors")),
                    );
                }
                if wants("space") {
                    let space = self.space_of(slot, kind).map(|s| self.render(s, ObjectKind::Space, &nested("space")));
                    out.insert("space".to_owned(), space.unwrap_or(Value::Null));
                }
                if includes.has("connectionstring") {
                    out.insert("connectionString".to_owned(), json!(self.connection_string(slot)));
                }
                if includes.has("iothub") {
                    let hub = self.spatial.resource_above("IoTHub", &self.space_path(slot)).map(|r| r.to_json());
                    out.insert("iotHubResource".to_owned(), hub.unwrap_or(Value::Null));
                }
            }
            ObjectKind::Sensor => {
                if includes.has("value") || includes.has("values") {
                    out.insert("value".to_owned(), sensor_value(doc));
                }
                if wants("device") {
                    let device =
                        self.graph.parent_at(slot).filter(|&d| self.kinds.kind_at(d) == Some(ObjectKind::Device));
                    let device = device.map(|d| self.render(d, ObjectKind::Device, &nested("device")));
                    out.insert("device".to_owned(), device.unwrap_or(Value::Null));
                }
                if wants("space") {
                    let space = self.space_of(slot, kind).map(|s| self.render(s, ObjectKind::Space, &nested("space")));
                    out.insert("space".to_owned(), space.unwrap_or(Value::Null));
                }
            }
            ObjectKind::User => {
                if wants("space") {
                    let space = self.space_of(slot, kind).map(|s| self.render(s, ObjectKind::Space, &nested("space")));
                    out.insert("space".to_owned(), space.unwrap_or(Value::Null));
                }
            }
        }
    }

    /// The IoT Hub connection string of a device: `HostName=…;DeviceId=<device id>;SharedAccessKey=<its key>`.
    ///
    /// The device id is the device's GUID (the 2018 documentation left the mapping open); a device without a key (created through the data plane) has none.
    pub(crate) fn connection_string(&self, slot: u32) -> Option<String> {
        let id = self.id(slot)?;
        let key = self.spatial.device_key(id)?;
        let host = self.host.unwrap_or("localhost");
        Some(format!("HostName={host};DeviceId={id};SharedAccessKey={key}"))
    }
}

fn copy(doc: &Map<String, Value>, out: &mut Map<String, Value>, member: &str) {
    if let Some(value) = doc.get(member) {
        out.insert(member.to_owned(), value.clone());
    }
}

/// A space's computed values (`values` map of the twin) as the 2018 `values` array.
fn space_values(doc: &Map<String, Value>) -> Value {
    let Some(Value::Object(values)) = doc.get("values") else { return json!([]) };
    let items: Vec<Value> = values
        .iter()
        .map(|(name, v)| {
            json!({
                "type": name,
                "value": v.get("value").cloned().unwrap_or(Value::Null),
                "timestamp": v.get("timestamp").cloned().unwrap_or(Value::Null),
                "historicalValues": [],
            })
        })
        .collect();
    Value::Array(items)
}

/// A sensor's latest value (`value` of the twin) as the 2018 `SensorValue`; `null` before the first.
pub(crate) fn sensor_value(doc: &Map<String, Value>) -> Value {
    match doc.get("value") {
        Some(Value::Object(v)) => json!({
            "type": doc.get("dataType").cloned().unwrap_or(Value::Null),
            "value": v.get("value").cloned().unwrap_or(Value::Null),
            "timestamp": v.get("timestamp").cloned().unwrap_or(Value::Null),
            "historicalValues": [],
        }),
        _ => Value::Null,
    }
}

/// The property-key scope of a kind.
pub(crate) fn scope_of(kind: ObjectKind) -> Scope {
    match kind {
        ObjectKind::Space => Scope::Spaces,
        ObjectKind::Device => Scope::Devices,
        ObjectKind::Sensor => Scope::Sensors,
        ObjectKind::User => Scope::Users,
    }
}

/// The extended types a body sets on an object of `kind` in the space whose path is `path`, as twin properties (`type` and `typeId`, …).
///
/// A type is given by name (`type`) or by id (`typeId`), never both; on create, a type not given is the category's `None` (a `null` name too, as the samples send); on update, only the types given change.
pub(crate) fn types_from_body(
    spatial: &Spatial,
    kind: ObjectKind,
    body: &Body,
    path: &[&str],
    creating: bool,
) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    for category in Category::ALL {
        let Some((of, name_member, id_member)) = category.twin_properties() else { continue };
        if of != kind || (kind == ObjectKind::Device && category == Category::SpaceStatus) {
            continue;
        }
        let by_name = body.text(name_member)?;
        let by_id = body.integer(id_member)?;
        let by = match (by_name, by_id) {
            (Some(_), Some(_)) => {
                return Err(MgmtError::invalid_member(
                    id_member,
                    format!("`{name_member}` and `{id_member}` name the same type; give one of them"),
                ));
            }
            (Some(name), None) => Some(TypeRef::Name(name.to_owned())),
            (None, Some(id)) => Some(TypeRef::Id(
                u32::try_from(id)
                    .map_err(|_| MgmtError::invalid_member(id_member, format!("`{id_member}` {id} names no type")))?,
            )),
            (None, None) => None,
        };
        let ty: UsableType = match by {
            Some(by) => spatial
                .usable_type(category, &by, path)
                .map_err(|e| MgmtError::invalid_member(name_member, e.to_string()))?,
            None if creating => Spatial::none_type(category),
            None => continue,
        };
        props.insert(id_member.to_owned(), json!(ty.id));
        props.insert(name_member.to_owned(), json!(ty.name));
    }
    Ok(props)
}

/// Extended properties of a body (`properties: [{name, value}]`), each checked against the property key of that name and scope visible from `path`; an unknown key is a 404, as the 2018 API answers.
pub(crate) fn properties_from_body(
    spatial: &Spatial,
    kind: ObjectKind,
    items: &[Value],
    path: &[&str],
) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    for item in items {
        let item = Body::from_value(item, "properties")?;
        let name = item
            .text("name")?
            .ok_or_else(|| MgmtError::invalid_member("properties", "each property needs a `name`"))?;
        let value = match item.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(MgmtError::invalid_member("properties", format!("property '{name}' needs a `value`"))),
        };
        let (name, value) = check_property(spatial, kind, name, &value, path)?;
        props.insert(name, Value::String(value));
    }
    Ok(props)
}

/// One extended property value, normalised by its key; the key's name as stored.
pub(crate) fn check_property(
    spatial: &Spatial,
    kind: ObjectKind,
    name: &str,
    value: &str,
    path: &[&str],
) -> Result<(String, String), MgmtError> {
    let key = spatial.usable_property_key(name, scope_of(kind), path).ok_or_else(|| {
        MgmtError::not_found(&format!("property key for {} (scope {})", kind_name(kind), scope_of(kind).name()), name)
    })?;
    let value = spatial.validate_property(key.id, value).map_err(|err| match err {
        spatial::state::StateError::InvalidInput(reason) => MgmtError::invalid_member("value", reason),
        other => MgmtError::from(other),
    })?;
    Ok((key.name.clone(), value))
}

/// `location`: an object with numbers `longitude`, `latitude` and optionally `elevation`, `measure`.
pub(crate) fn location_from_body(body: &Body) -> Result<Option<Value>, MgmtError> {
    let Some(location) = body.get("location") else { return Ok(None) };
    let location = Body::from_value(location, "location")?;
    let mut out = Map::new();
    for (member, required) in [("longitude", true), ("latitude", true), ("elevation", false), ("measure", false)] {
        match location.get(member) {
            Some(Value::Number(n)) => {
                out.insert(member.to_owned(), Value::Number(n.clone()));
            }
            None if !required => {}
            _ => {
                return Err(MgmtError::invalid_member("location", format!("`location.{member}` must be a number")));
            }
        }
    }
    Ok(Some(Value::Object(out)))
}

/// Creates a twin of `kind` with `props`, and places it under `parent` with the kind's containment relationship.
pub(crate) fn create_twin(
    graph: &mut TenantGraph,
    kind: ObjectKind,
    id: &str,
    mut props: Map<String, Value>,
    parent: Option<&str>,
    now: &str,
) -> Result<Vec<Change>, MgmtError> {
    props.insert("$metadata".to_owned(), json!({ "$model": kind.model() }));
    let (_, mut changes) = graph.put_twin(id, Value::Object(props), &Precondition::IfNoneMatchAny, now)?;
    if let Some(parent) = parent {
        changes.extend(place(graph, kind, id, parent, now)?);
    }
    Ok(changes)
}

/// Sets twin properties with one JSON Patch (`add` sets or replaces a top-level property; `null` removes one the twin has); nothing when `props` is empty.
pub(crate) fn patch(
    graph: &mut graph::TenantGraph,
    id: &str,
    props: Map<String, Value>,
    now: &str,
) -> Result<Written, MgmtError> {
    if props.is_empty() {
        return Ok(Written::default());
    }
    let ops: Vec<Value> = props
        .into_iter()
        .map(|(name, value)| match value {
            Value::Null => json!({ "op": "remove", "path": format!("/{name}") }),
            value => json!({ "op": "add", "path": format!("/{name}"), "value": value }),
        })
        .collect();
    let (_, changes) = graph.patch_twin(id, &Value::Array(ops), &Precondition::None, now)?;
    Ok(Written::changes(changes))
}

/// The containment relationship that places an object of `kind` in its parent.
pub(crate) fn containment_relationship(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Space => "contains",
        ObjectKind::Device => "hasDevice",
        ObjectKind::Sensor => "hasSensor",
        ObjectKind::User => "hasUser",
    }
}

/// Places `child` under `parent`: removes the relationships that place it elsewhere (whatever their names) and adds the kind's own; the graph refuses a cycle.
pub(crate) fn place(
    graph: &mut TenantGraph,
    kind: ObjectKind,
    child: &str,
    parent: &str,
    now: &str,
) -> Result<Vec<Change>, MgmtError> {
    let mut changes = unplace(graph, child)?;
    let name = containment_relationship(kind);
    let body = json!({ "$targetId": child, "$relationshipName": name });
    let (_, placed) = graph.put_relationship(parent, &format!("{name}-{child}"), body, &Precondition::None, now)?;
    changes.extend(placed);
    Ok(changes)
}

/// Removes every relationship that places `child` in a parent (parent-to-child ones reaching it, child-to-parent ones leaving it).
pub(crate) fn unplace(graph: &mut TenantGraph, child: &str) -> Result<Vec<Change>, MgmtError> {
    let containment = graph.containment().clone();
    let mut placing: Vec<(String, String)> = graph
        .incoming(child)?
        .into_iter()
        .filter(|r| containment.parent_to_child().contains(&r.name))
        .map(|r| (r.source, r.id))
        .collect();
    placing.extend(
        graph
            .relationships(child, None)?
            .into_iter()
            .filter(|r| containment.child_to_parent().contains(&r.name))
            .map(|r| (r.source, r.id)),
    );
    let mut changes = Vec::new();
    for (source, id) in placing {
        changes.extend(graph.delete_relationship(&source, &id, &Precondition::None)?);
    }
    Ok(changes)
}

/// How a list parameter selects objects by one of their members.
#[derive(Clone, Copy)]
pub(crate) enum Match {
    /// The member's text equals one of the values, ignoring case.
    Text(&'static str),
    /// The object's type of a category, named by one of the values (a name, ignoring case, or an id): the name member and the id member.
    Type(&'static str, &'static str),
    /// The id of the object's parent (a sensor's device).
    Parent,
}

/// The list parameters every read of `kind` takes, with what each one matches.
fn filters(kind: ObjectKind) -> &'static [(&'static str, Match)] {
    match kind {
        ObjectKind::Space => &[
            ("name", Match::Text("name")),
            ("names", Match::Text("name")),
            ("types", Match::Type("type", "typeId")),
            ("subtypes", Match::Type("subtype", "subtypeId")),
            ("statuses", Match::Type("status", "statusId")),
        ],
        ObjectKind::Device => &[
            ("names", Match::Text("name")),
            ("hardwareIds", Match::Text("hardwareId")),
            ("types", Match::Type("type", "typeId")),
            ("subtypes", Match::Type("subtype", "subtypeId")),
            ("gateways", Match::Text("gatewayId")),
            ("status", Match::Text("status")),
        ],
        ObjectKind::Sensor => &[
            ("deviceIds", Match::Parent),
            ("hardwareIds", Match::Text("hardwareId")),
            ("types", Match::Type("type", "typeId")),
            ("portTypes", Match::Type("portType", "portTypeId")),
            ("dataTypes", Match::Type("dataType", "dataTypeId")),
            ("dataSubtypes", Match::Type("dataSubtype", "dataSubtypeId")),
            ("dataUnitTypes", Match::Type("dataUnitType", "dataUnitTypeId")),
        ],
        ObjectKind::User => &[
            ("upn", Match::Text("upn")),
            ("firstName", Match::Text("firstName")),
            ("lastName", Match::Text("lastName")),
        ],
    }
}

/// A read of a collection of `kind`: the tree parameters pick candidates, `ids`, the kind's list parameters, the property filter and `keep` narrow them, each is rendered with `includes`, then the OData options apply.
/// More than `max` objects is an error asking to narrow the request.
pub(crate) fn list(
    view: &View<'_>,
    kind: ObjectKind,
    params: &super::Params,
    includes: &Includes,
    keep: &dyn Fn(u32, &Map<String, Value>) -> bool,
    max: usize,
) -> Result<Vec<Value>, MgmtError> {
    let options = spatial::odata::QueryOptions::from_pairs(&params.0)?;
    let tree = spatial::navigate::TreeFilter::from_pairs(&params.0)?;
    let ids = params.list("ids");
    let hardware_ids = params.list("hardwareIds");
    // Without tree parameters, ids and hardware ids name the candidates through the graph's indexes instead of a walk over every object of the kind.
    let slots = if tree != spatial::navigate::TreeFilter::default() {
        spatial::navigate::select(view.graph, &view.kinds, kind, &tree, usize::MAX)?
    } else if !ids.is_empty() {
        let mut slots: Vec<u32> = ids
            .iter()
            .filter_map(|id| view.graph.slot(id).or_else(|| view.graph.slot(&id.to_ascii_lowercase())))
            .filter(|&s| view.kinds.kind_at(s) == Some(kind))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    } else if !hardware_ids.is_empty() && matches!(kind, ObjectKind::Device | ObjectKind::Sensor) {
        let mut slots: Vec<u32> = hardware_ids
            .iter()
            .flat_map(|hw| view.graph.slots_with_property("hardwareId", hw).iter().copied())
            .filter(|&s| view.kinds.kind_at(s) == Some(kind))
            .collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    } else {
        spatial::navigate::select(view.graph, &view.kinds, kind, &tree, usize::MAX)?
    };
    let wanted: Vec<(Match, Vec<String>)> = filters(kind)
        .iter()
        .map(|(param, how)| (*how, params.list(param)))
        .filter(|(_, values)| !values.is_empty())
        .collect();
    let property = property_filter(params)?;
    let mut out = Results::new(options, max);
    for slot in slots {
        let Some(twin) = view.graph.twin_at(slot) else { continue };
        if !ids.is_empty() && !ids.iter().any(|id| id.eq_ignore_ascii_case(&twin.id)) {
            continue;
        }
        let doc = twin.doc();
        let pass = wanted.iter().all(|(how, values)| match how {
            Match::Text(member) => doc
                .get(*member)
                .and_then(Value::as_str)
                .is_some_and(|v| values.iter().any(|w| w.eq_ignore_ascii_case(v))),
            Match::Type(name, id) => {
                let name = doc.get(*name).and_then(Value::as_str);
                let id = doc.get(*id).and_then(Value::as_u64).map(|i| i.to_string());
                values
                    .iter()
                    .any(|w| name.is_some_and(|n| n.eq_ignore_ascii_case(w)) || id.as_deref() == Some(w.as_str()))
            }
            Match::Parent => {
                let parent = view.graph.parent_at(slot).and_then(|p| view.graph.twin_at(p)).map(|t| t.id.as_str());
                parent.is_some_and(|p| values.iter().any(|w| w.eq_ignore_ascii_case(p)))
            }
        });
        if !pass || !property.as_ref().is_none_or(|p| p.matches(&doc)) || !keep(slot, &doc) {
            continue;
        }
        if !out.push(view.render_doc(slot, kind, includes, &doc))? {
            break;
        }
    }
    Ok(out.finish())
}

/// `GET <kind>s`: `list` over the tenant, answered as JSON.
pub(crate) fn list_response(
    state: &crate::router::AppState,
    kind: ObjectKind,
    params: &super::Params,
    includes: &Includes,
) -> Result<axum::response::Response, MgmtError> {
    use axum::response::IntoResponse;
    let max = state.limits.management_results_max.get();
    let tenant = state.data.tenant();
    let mut objects = tenant.read_all(|tenant| list(&View::new(tenant), kind, params, includes, &|_, _| true, max))?;
    // `historicalValues` are read after the tenant's lock is released, and only where values are shown.
    objects.iter_mut().try_for_each(|object| crate::history::fill_all(tenant.points(), object))?;
    Ok(axum::Json(objects).into_response())
}

/// `GET <kind>s/{id}`: the object with `includes`, or 404.
pub(crate) fn one_response(
    state: &crate::router::AppState,
    kind: ObjectKind,
    id: &str,
    includes: &Includes,
) -> Result<axum::response::Response, MgmtError> {
    use axum::response::IntoResponse;
    let tenant = state.data.tenant();
    let mut object = tenant.read_all(|tenant| {
        let slot = super::object_slot(&tenant.graph, kind, id)?;
        Ok::<_, MgmtError>(View::new(tenant).render(slot, kind, includes))
    })?;
    crate::history::fill_all(tenant.points(), &mut object)?;
    Ok(axum::Json(object).into_response())
}

/// The ids of the spaces the tree parameters of a request select (`useParentSpace` aside, which belongs to listings of spaces), or `None` when it gives none: what objects hanging off spaces (matchers, functions, resources, custom types) are listed by.
pub(crate) fn spaces_selected<'v>(
    view: &View<'v>,
    filter: &spatial::navigate::TreeFilter,
) -> Result<Option<std::collections::HashSet<&'v str>>, MgmtError> {
    let mut filter = filter.clone();
    filter.use_parent_space = false;
    if filter == spatial::navigate::TreeFilter::default() {
        return Ok(None);
    }
    // Every space is at most every twin, so this bound is never what stops the selection.
    let slots =
        spatial::navigate::select(view.graph, &view.kinds, ObjectKind::Space, &filter, view.graph.twin_count())?;
    Ok(Some(slots.into_iter().filter_map(|slot| view.graph.twin_at(slot).map(|twin| twin.id.as_str())).collect()))
}

/// The objects a read answers: each kept only when the OData `$filter` keeps it and counted against the result cap as it comes, then ordered, skipped and cut (`$orderby`, `$skip`, `$top`).
///
/// The cap counts what the filter keeps, so `$filter` narrows a read the way the samples use it; without `$orderby`, collecting stops once `$skip` + `$top` objects are in.
pub(crate) struct Results {
    options: spatial::odata::QueryOptions,
    max: usize,
    values: Vec<Value>,
}

impl Results {
    pub(crate) fn new(options: spatial::odata::QueryOptions, max: usize) -> Results {
        Results { options, max, values: Vec::new() }
    }

    /// Adds an object; `Ok(false)` when the read has all it will answer.
    pub(crate) fn push(&mut self, value: Value) -> Result<bool, MgmtError> {
        if self.options.filter.as_ref().is_some_and(|f| !f.matches(&value)) {
            return Ok(true);
        }
        if self.values.len() == self.max {
            return Err(too_many(self.max));
        }
        self.values.push(value);
        let enough = self.options.order_by.is_empty()
            && self.options.top.is_some_and(|top| self.values.len() >= self.options.skip.saturating_add(top));
        Ok(!enough)
    }

    /// The answer: the kept objects ordered, skipped and cut.
    pub(crate) fn finish(self) -> Vec<Value> {
        let options = spatial::odata::QueryOptions { filter: None, ..self.options };
        options.apply(self.values)
    }
}

/// The answer when a read finds more than `limits.management_results_max` objects.
pub(crate) fn too_many(max: usize) -> MgmtError {
    MgmtError::invalid(format!(
        "the request selects more than {max} objects (`limits.management_results_max`); narrow it with spaceId, traverse, levels or filters"
    ))
}

/// `propertyKey`, `propertyValue` and `propertyValueSearchType` (`Equals`, the default, or `Contains`): objects with that extended property (and value).
struct PropertyFilter {
    key: String,
    value: Option<String>,
    contains: bool,
}

fn property_filter(params: &super::Params) -> Result<Option<PropertyFilter>, MgmtError> {
    let Some(key) = params.text(&["propertyKey"]) else {
        if params.text(&["propertyValue"]).is_some() {
            return Err(MgmtError::invalid_member("propertyValue", "`propertyValue` needs `propertyKey`"));
        }
        return Ok(None);
    };
    let contains = match params.text(&["propertyValueSearchType"]) {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("equals") => false,
        Some(t) if t.eq_ignore_ascii_case("contains") => true,
        Some(t) => {
            return Err(MgmtError::invalid_member(
                "propertyValueSearchType",
                format!("`propertyValueSearchType` is `{t}`; it takes Equals or Contains"),
            ));
        }
    };
    Ok(Some(PropertyFilter {
        key: key.to_owned(),
        value: params.text(&["propertyValue"]).map(str::to_owned),
        contains,
    }))
}

impl PropertyFilter {
    fn matches(&self, doc: &Map<String, Value>) -> bool {
        let Some(Value::Object(properties)) = doc.get("properties") else { return false };
        let Some(value) =
            properties.iter().find(|(k, _)| k.eq_ignore_ascii_case(&self.key)).and_then(|(_, v)| v.as_str())
        else {
            return false;
        };
        match &self.value {
            None => true,
            Some(wanted) if self.contains => value.to_lowercase().contains(&wanted.to_lowercase()),
            Some(wanted) => value.eq_ignore_ascii_case(wanted),
        }
    }
}
