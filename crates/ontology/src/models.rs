//! The built-in DTDL model set of the 2018 object kinds (a common base, Space, Device, Sensor and User), the containment relationships it declares, and which twin property each extended-type category fills.
//!
//! The documents are DTDL v3 JSON files in `data/models/`, embedded in the binary; `documents` hands them to `model::parse` like any uploaded model.
//! Maintaining the containment tree (paths, levels, one parent) belongs to the graph; this file only declares which relationships form it.

use crate::catalogue::Category;

/// The base every object kind extends: `name`, `friendlyName`, `description`, `location` and the extended `properties`.
pub const TOPOLOGY_OBJECT: &str = "dtmi:twinscape:TopologyObject;1";
/// A place or a grouping of places, with its type, subtype and status; it contains spaces and has devices.
pub const SPACE: &str = "dtmi:twinscape:Space;1";
/// A device attached to a space, with its hardware id, type, subtype, gateway and status; it has sensors.
pub const DEVICE: &str = "dtmi:twinscape:Device;1";
/// A sensor of a device, with its hardware id, port, poll rate, type, data type, subtype, unit, port type and latest value.
pub const SENSOR: &str = "dtmi:twinscape:Sensor;1";
/// A person located in a space, with a user principal name, names and free-form metadata.
pub const USER: &str = "dtmi:twinscape:User;1";

/// The built-in documents, base first: (file name, text).
const DOCUMENTS: [(&str, &str); 5] = [
    ("topology-object.json", include_str!("../data/models/topology-object.json")),
    ("space.json", include_str!("../data/models/space.json")),
    ("device.json", include_str!("../data/models/device.json")),
    ("sensor.json", include_str!("../data/models/sensor.json")),
    ("user.json", include_str!("../data/models/user.json")),
];

/// The built-in model set as documents for `model::parse`, named after their files.
pub fn documents() -> Vec<model::Document> {
    DOCUMENTS
        .iter()
        .map(|(name, text)| model::Document { name: (*name).to_owned(), text: (*text).to_owned() })
        .collect()
}

/// The object kinds of the 2018 API that are twins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Space,
    Device,
    Sensor,
    User,
}

impl ObjectKind {
    /// Every kind, containers before what they contain.
    pub const ALL: [ObjectKind; 4] = [ObjectKind::Space, ObjectKind::Device, ObjectKind::Sensor, ObjectKind::User];

    /// The built-in model of the kind; a twin is of the kind when its model is this one or extends it.
    pub fn model(self) -> &'static str {
        match self {
            ObjectKind::Space => SPACE,
            ObjectKind::Device => DEVICE,
            ObjectKind::Sensor => SENSOR,
            ObjectKind::User => USER,
        }
    }
}

/// Which way a containment relationship points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the container to what it contains (`space -contains-> space`).
    ParentToChild,
    /// From the contained object to its container (`floor -isPartOf-> building`).
    ChildToParent,
}

/// The relationships of the built-in models that form the containment tree (tenant → … → room → device → sensor, users in spaces), with their direction.
///
/// All point from the container down, so a twin's parent is found on the relationships that reach it.
/// A twin has at most one containment parent; a deployment may declare more relationships for its own models, such as RealEstateCore's `isPartOf` (child to parent).
/// `locatedIn` is not one of them: models commonly use it for "where this is" at several levels at once (a device in its room and in its floor), which would give a twin two parents.
pub const CONTAINMENT: [(&str, Direction); 4] = [
    ("contains", Direction::ParentToChild),
    ("hasDevice", Direction::ParentToChild),
    ("hasSensor", Direction::ParentToChild),
    ("hasUser", Direction::ParentToChild),
];

/// The direction of a built-in containment relationship, or `None` for a relationship that is not one.
pub fn containment_direction(relationship: &str) -> Option<Direction> {
    CONTAINMENT.iter().find(|(name, _)| *name == relationship).map(|&(_, direction)| direction)
}

impl Category {
    /// The object kind whose twins carry a type of this category, with the properties holding the type's name and id (`type`, `typeId`); `None` for blob categories, since blobs are not twins.
    pub fn twin_properties(self) -> Option<(ObjectKind, &'static str, &'static str)> {
        let (kind, name, id) = match self {
            Category::SpaceType => (ObjectKind::Space, "type", "typeId"),
            Category::SpaceSubtype => (ObjectKind::Space, "subtype", "subtypeId"),
            Category::SpaceStatus => (ObjectKind::Space, "status", "statusId"),
            Category::DeviceType => (ObjectKind::Device, "type", "typeId"),
            Category::DeviceSubtype => (ObjectKind::Device, "subtype", "subtypeId"),
            Category::SensorType => (ObjectKind::Sensor, "type", "typeId"),
            Category::SensorDataType => (ObjectKind::Sensor, "dataType", "dataTypeId"),
            Category::SensorDataSubtype => (ObjectKind::Sensor, "dataSubtype", "dataSubtypeId"),
            Category::SensorDataUnitType => (ObjectKind::Sensor, "dataUnitType", "dataUnitTypeId"),
            Category::SensorPortType => (ObjectKind::Sensor, "portType", "portTypeId"),
            Category::SpaceBlobType
            | Category::SpaceBlobSubtype
            | Category::DeviceBlobType
            | Category::DeviceBlobSubtype
            | Category::UserBlobType
            | Category::UserBlobSubtype => return None,
        };
        Some((kind, name, id))
    }
}
