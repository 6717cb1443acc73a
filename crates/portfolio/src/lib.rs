//! The synthetic portfolio of `twinscape bench` and of the query benchmark: a built-in DTDL v3 model set and a deterministic tree of twins (tenants → sites → buildings → floors → rooms → devices → sensors) derived from a seed and a twin count, optionally with one much larger "tower" building.
//!
//! Everything here is pure: no I/O, no clock, and one seeded generator (`Rng`, SplitMix64 written out) so that a seed and a count name the same portfolio in every build.
//! Twins are listed level by level, so every parent comes before its children, and a tower's twins come after all of those.
//! The same tree comes in two flavors: twins of the bench models of `models()` (`twin_body`, with `relationship` and `location`), or twins of the built-in models of the 2018 management face (`spatial_twin_body`, with `relationship` alone), whose extended types are kept as the 2018 face writes them.
//! Sending twins to a server (the `twinscape` binary's `bench`) or loading them into an engine (`query-bench`) is the caller's business.

use std::ops::Range;

use serde_json::{Value, json};

/// The fewest twins a portfolio can have: one of each kind.
pub const TWINS_MIN: u64 = 7;
/// The most twins a portfolio can have (ADT's default twin limit per instance); ids are kept in memory.
pub const TWINS_MAX: u64 = 2_000_000;

/// One site per this many twins, the rest of the portfolio scaled to it.
const TWINS_PER_SITE: usize = 2_000;
/// One tenant per this many sites (at least one).
const SITES_PER_TENANT: usize = 8;
/// Below the sites, per 1,998 twins: 2 buildings, 10 floors, 200 rooms, 400 devices; the rest (about 3.5 per device) are sensors.
const WEIGHTS: [usize; 4] = [2, 10, 200, 400];
const WEIGHT_TOTAL: usize = 1_998;

/// The fewest twins a tower can have below it: one floor, one room, one device and one sensor.
pub const TOWER_DESCENDANTS_MIN: usize = 4;
/// The most twins a tower can have below it.
pub const TOWER_DESCENDANTS_MAX: usize = 1_000_000;

/// The time of every value of the spatial flavor (a sensor's `value`, a room's `values`): fixed, since the portfolio reads no clock.
pub const SPATIAL_TIMESTAMP: &str = "2026-01-01T00:00:00Z";

/// An extended type of the 2018 face as a twin keeps it: by id and by name, both as `crates/ontology/data/types.txt` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpatialType {
    /// The category as the 2018 API names it (`SpaceType`).
    pub category: &'static str,
    pub id: u32,
    pub name: &'static str,
}

/// The twin properties of one extended type: the id member, the name member, and the type they hold.
pub type SpatialTypeProperties = (&'static str, &'static str, SpatialType);

/// The `None` type of a category, whose id is the first of the category's block.
const fn none_type(category: &'static str, id: u32) -> SpatialType {
    SpatialType { category, id, name: "None" }
}

const fn space_types(id: u32, name: &'static str) -> [SpatialTypeProperties; 3] {
    [
        ("typeId", "type", SpatialType { category: "SpaceType", id, name }),
        ("subtypeId", "subtype", none_type("SpaceSubtype", 20_000)),
        ("statusId", "status", none_type("SpaceStatus", 30_000)),
    ]
}

const TENANT_TYPES: [SpatialTypeProperties; 3] = space_types(10_001, "Tenant");
const SITE_TYPES: [SpatialTypeProperties; 3] = space_types(11_003, "Site");
const BUILDING_TYPES: [SpatialTypeProperties; 3] = space_types(11_005, "Building");
const FLOOR_TYPES: [SpatialTypeProperties; 3] = space_types(11_006, "Floor");
const ROOM_TYPES: [SpatialTypeProperties; 3] = space_types(11_008, "Room");
const DEVICE_TYPES: [SpatialTypeProperties; 2] =
    [("typeId", "type", none_type("DeviceType", 60_000)), ("subtypeId", "subtype", none_type("DeviceSubtype", 70_000))];
const SENSOR_TYPES: [SpatialTypeProperties; 5] = [
    ("typeId", "type", none_type("SensorType", 100_000)),
    ("dataTypeId", "dataType", SpatialType { category: "SensorDataType", id: 111_001, name: "Temperature" }),
    ("dataSubtypeId", "dataSubtype", none_type("SensorDataSubtype", 120_000)),
    ("dataUnitTypeId", "dataUnitType", none_type("SensorDataUnitType", 130_000)),
    ("portTypeId", "portType", none_type("SensorPortType", 140_000)),
];

/// A level of the tree; each twin is of one kind, and a kind's parent is the kind before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tenant,
    Site,
    Building,
    Floor,
    Room,
    Device,
    Sensor,
}

impl Kind {
    pub const ALL: [Kind; 7] =
        [Kind::Tenant, Kind::Site, Kind::Building, Kind::Floor, Kind::Room, Kind::Device, Kind::Sensor];

    /// The model of a twin of this kind.
    pub fn model(self) -> &'static str {
        match self {
            Kind::Tenant => "dtmi:twinscape:bench:Tenant;1",
            Kind::Site => "dtmi:twinscape:bench:Site;1",
            Kind::Building => "dtmi:twinscape:bench:Building;1",
            Kind::Floor => "dtmi:twinscape:bench:Floor;1",
            Kind::Room => "dtmi:twinscape:bench:Room;1",
            Kind::Device => "dtmi:twinscape:bench:Device;1",
            Kind::Sensor => "dtmi:twinscape:bench:Sensor;1",
        }
    }

    /// The plural used in counts (`tenants`, `sites`, …).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Tenant => "tenants",
            Kind::Site => "sites",
            Kind::Building => "buildings",
            Kind::Floor => "floors",
            Kind::Room => "rooms",
            Kind::Device => "devices",
            Kind::Sensor => "sensors",
        }
    }

    /// The relationship from a twin's parent to it, named as in the parent's model.
    pub fn relationship(self) -> Option<&'static str> {
        match self {
            Kind::Tenant => None,
            Kind::Site | Kind::Building | Kind::Floor | Kind::Room => Some("contains"),
            Kind::Device => Some("hasDevice"),
            Kind::Sensor => Some("hasSensor"),
        }
    }

    /// The built-in 2018 model of a twin of this kind in the spatial flavor: tenants to rooms are spaces.
    pub fn spatial_model(self) -> &'static str {
        match self {
            Kind::Tenant | Kind::Site | Kind::Building | Kind::Floor | Kind::Room => "dtmi:twinscape:Space;1",
            Kind::Device => "dtmi:twinscape:Device;1",
            Kind::Sensor => "dtmi:twinscape:Sensor;1",
        }
    }

    /// Whether a twin of this kind is a space of the 2018 face.
    pub fn is_space(self) -> bool {
        self.spatial_model() == "dtmi:twinscape:Space;1"
    }

    /// The extended types of a twin of this kind in the spatial flavor, in the order `POST spaces`, `devices` and `sensors` write them:
    /// a space's type by its level, and `None` for every other category (a device's status is not an extended type).
    pub fn spatial_types(self) -> &'static [SpatialTypeProperties] {
        match self {
            Kind::Tenant => &TENANT_TYPES,
            Kind::Site => &SITE_TYPES,
            Kind::Building => &BUILDING_TYPES,
            Kind::Floor => &FLOOR_TYPES,
            Kind::Room => &ROOM_TYPES,
            Kind::Device => &DEVICE_TYPES,
            Kind::Sensor => &SENSOR_TYPES,
        }
    }

    /// The numeric property a patch replaces, if the kind has one.
    pub fn numeric_property(self) -> Option<&'static str> {
        match self {
            Kind::Tenant | Kind::Device => None,
            Kind::Site | Kind::Building | Kind::Floor | Kind::Room => Some("area"),
            Kind::Sensor => Some("temperature"),
        }
    }

    /// A fresh value of `numeric_property`, within the range a twin of this kind would have.
    pub fn numeric_value(self, rng: &mut Rng) -> f64 {
        let (low, high) = match self {
            Kind::Site => (10_000.0, 80_000.0),
            Kind::Building => (2_000.0, 30_000.0),
            Kind::Floor => (500.0, 3_000.0),
            Kind::Room => (8.0, 200.0),
            // Tenants and devices have no numeric property; sensors read a temperature in °C.
            Kind::Tenant | Kind::Device | Kind::Sensor => (18.0, 26.0),
        };
        ((low + rng.unit() * (high - low)) * 100.0).round() / 100.0
    }

    /// The id segment of a twin of this kind (`site-3`).
    fn segment(self) -> &'static str {
        match self {
            Kind::Tenant => "tenant",
            Kind::Site => "site",
            Kind::Building => "bldg",
            Kind::Floor => "floor",
            Kind::Room => "room",
            Kind::Device => "dev",
            Kind::Sensor => "sensor",
        }
    }
}

/// One twin of the portfolio.
#[derive(Debug)]
pub struct Twin {
    /// The path from the tenant, flattened with `_` (`tenant-1_site-3_bldg-1`): only `[a-z0-9_-]`, so it needs no escaping in a URL.
    pub id: String,
    pub kind: Kind,
    /// The index of the parent twin, which is always smaller than this twin's own index.
    pub parent: Option<usize>,
}

/// The twins of one seed and count, level by level.
pub struct Portfolio {
    pub seed: u64,
    pub twins: Vec<Twin>,
    /// The index range of each level, in the order of `Kind::ALL`.
    pub levels: Vec<Range<usize>>,
    /// The indexes of the twins that have a numeric property to patch.
    pub patchable: Vec<usize>,
    /// The index range of the tower (see `with_tower`), its building first; `None` without one.
    /// Its twins come after every twin of `levels`, which therefore do not cover them.
    pub tower: Option<Range<usize>>,
}

impl Portfolio {
    /// The portfolio of `twins` twins (within `TWINS_MIN..=TWINS_MAX`) for `seed`.
    pub fn generate(twins: usize, seed: u64) -> Portfolio {
        let counts = counts(twins);
        let mut rng = Rng::new(seed);
        let mut list: Vec<Twin> = Vec::with_capacity(twins);
        let mut levels: Vec<Range<usize>> = Vec::with_capacity(Kind::ALL.len());
        list.extend((1..=counts[0]).map(|k| Twin { id: format!("tenant-{k}"), kind: Kind::Tenant, parent: None }));
        levels.push(0..counts[0]);
        for (level, kind) in Kind::ALL.iter().enumerate().skip(1) {
            let parents = levels[level - 1].clone();
            // Every parent gets one child, and the rest are spread at random, so sizes vary as in a real portfolio.
            let mut children = vec![1usize; parents.len()];
            for _ in parents.len()..counts[level] {
                children[rng.below(parents.len())] += 1;
            }
            let start = list.len();
            for (parent, n) in parents.zip(children) {
                for k in 1..=n {
                    let id = format!("{}_{}-{k}", list[parent].id, kind.segment());
                    list.push(Twin { id, kind: *kind, parent: Some(parent) });
                }
            }
            levels.push(start..list.len());
        }
        let patchable = (0..list.len()).filter(|&i| list[i].kind.numeric_property().is_some()).collect();
        Portfolio { seed, twins: list, levels, patchable, tower: None }
    }

    /// Adds the tower: one more building of the first site, `tower-1`, with `descendants` twins below it
    /// (within `TOWER_DESCENDANTS_MIN..=TOWER_DESCENDANTS_MAX`): floors, rooms, devices and sensors in the proportions
    /// of an ordinary building, spread evenly over their parents.
    ///
    /// The tower's twins are appended after every other twin, so the ids, order and bodies of the rest are exactly
    /// those `generate` made; `relationship`, `location` and `twin_body` work for tower twins as for any other.
    pub fn with_tower(self, descendants: usize) -> Portfolio {
        let floors = tower_counts(descendants, None)[0];
        self.with_tower_floors(descendants, floors)
    }

    /// Adds the tower as `with_tower` does, with `floors` floors (within `1..=descendants / 4`) instead of an ordinary
    /// building's share, so that each floor holds about `descendants / floors` twins; rooms, devices and sensors keep
    /// their proportions. `with_tower_floors(n, f)` with `with_tower(n)`'s own floor count is `with_tower(n)`.
    pub fn with_tower_floors(mut self, descendants: usize, floors: usize) -> Portfolio {
        assert!(
            (TOWER_DESCENDANTS_MIN..=TOWER_DESCENDANTS_MAX).contains(&descendants),
            "the tower size is checked where it is chosen"
        );
        assert!((1..=descendants / 4).contains(&floors), "the tower's floor count is checked where it is chosen");
        assert!(self.tower.is_none(), "a portfolio has at most one tower");
        let start = self.twins.len();
        let site = self.levels[1].start;
        let id = format!("{}_tower-1", self.twins[site].id);
        self.twins.push(Twin { id, kind: Kind::Building, parent: Some(site) });
        let mut parents = start..start + 1;
        for (kind, count) in [Kind::Floor, Kind::Room, Kind::Device, Kind::Sensor]
            .into_iter()
            .zip(tower_counts(descendants, Some(floors)))
        {
            let first = self.twins.len();
            let (each, extra) = (count / parents.len(), count % parents.len());
            for (j, parent) in parents.enumerate() {
                for k in 1..=each + usize::from(j < extra) {
                    let id = format!("{}_{}-{k}", self.twins[parent].id, kind.segment());
                    self.twins.push(Twin { id, kind, parent: Some(parent) });
                }
            }
            parents = first..self.twins.len();
        }
        let end = self.twins.len();
        self.patchable.extend((start..end).filter(|&i| self.twins[i].kind.numeric_property().is_some()));
        self.tower = Some(start..end);
        self
    }

    /// The twin document of twin `index`: its model and every property, with values derived from the seed and the index alone.
    pub fn twin_body(&self, index: usize) -> Value {
        let twin = &self.twins[index];
        let mut rng = Rng::new(self.seed ^ (index as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        let name = twin.id.rsplit('_').next().unwrap_or(&twin.id);
        let mut body = json!({ "$metadata": { "$model": twin.kind.model() }, "name": name });
        if let Some(property) = twin.kind.numeric_property() {
            body[property] = json!(twin.kind.numeric_value(&mut rng));
        }
        match twin.kind {
            Kind::Room => body["occupied"] = json!(rng.below(2) == 1),
            Kind::Device => body["serialNumber"] = json!(format!("SN-{:08X}", rng.next_u64() as u32)),
            _ => {}
        }
        body
    }

    /// The twin document of twin `index` in the spatial flavor: a twin of the built-in 2018 model of its kind
    /// (`Kind::spatial_model`) with the members the 2018 face writes when it creates one, its extended types by id and
    /// by name (`Kind::spatial_types`), and values derived from the seed and the index alone:
    /// - a space: `name`, its types; a room also `values` with its `Occupancy` (`"true"` or `"false"`);
    /// - a device: `name`, `status` `Provisioned`, its types, and a `hardwareId` unique in the portfolio (`D` and the index in hex);
    /// - a sensor: `name`, its types (`Temperature` data), a unique `hardwareId` (`S` and the index), and on about half of them a `value`.
    ///
    /// Values carry `SPATIAL_TIMESTAMP`. The relationships are `relationship`'s (`contains`, `hasDevice`, `hasSensor`); `location` has no place in this flavor.
    pub fn spatial_twin_body(&self, index: usize) -> Value {
        let twin = &self.twins[index];
        let mut rng = Rng::new(self.seed ^ (index as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        let name = twin.id.rsplit('_').next().unwrap_or(&twin.id);
        let mut body = json!({ "$metadata": { "$model": twin.kind.spatial_model() }, "name": name });
        if twin.kind == Kind::Device {
            body["status"] = json!("Provisioned");
        }
        for (id_member, name_member, ty) in twin.kind.spatial_types() {
            body[*id_member] = json!(ty.id);
            body[*name_member] = json!(ty.name);
        }
        match twin.kind {
            Kind::Room => {
                let occupied = rng.below(2) == 1;
                body["values"] =
                    json!({ "Occupancy": { "value": occupied.to_string(), "timestamp": SPATIAL_TIMESTAMP } });
            }
            Kind::Device => body["hardwareId"] = json!(format!("D{index:08X}")),
            Kind::Sensor => {
                body["hardwareId"] = json!(format!("S{index:08X}"));
                if rng.below(2) == 1 {
                    let celsius = Kind::Sensor.numeric_value(&mut rng);
                    body["value"] = json!({ "value": format!("{celsius:.2}"), "timestamp": SPATIAL_TIMESTAMP });
                }
            }
            Kind::Tenant | Kind::Site | Kind::Building | Kind::Floor => {}
        }
        body
    }

    /// The relationship from twin `index`'s parent to it: source id, relationship id and body; `None` for tenants.
    /// Its name (`contains`, `hasDevice`, `hasSensor`) is declared by both flavors' models, so it serves both.
    pub fn relationship(&self, index: usize) -> Option<(&str, String, Value)> {
        let twin = &self.twins[index];
        let (parent, name) = (twin.parent?, twin.kind.relationship()?);
        let segment = twin.id.rsplit('_').next().unwrap_or(&twin.id);
        let body = json!({ "$targetId": twin.id, "$relationshipName": name });
        Some((&self.twins[parent].id, format!("{name}-{segment}"), body))
    }

    /// The second relationship of a device or sensor: `locatedIn` the space two levels up (a device's floor, a sensor's room).
    pub fn location(&self, index: usize) -> Option<(&str, String, Value)> {
        let twin = &self.twins[index];
        if !matches!(twin.kind, Kind::Device | Kind::Sensor) {
            return None;
        }
        let grandparent = self.twins[twin.parent?].parent?;
        let segment = twin.id.rsplit('_').next().unwrap_or(&twin.id);
        let body = json!({ "$targetId": self.twins[grandparent].id, "$relationshipName": "locatedIn" });
        Some((&twin.id, format!("locatedIn-{segment}"), body))
    }

    /// `7 tenants, 50 sites, …`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = Kind::ALL
            .iter()
            .zip(&self.levels)
            .map(|(kind, range)| format!("{} {}", range.len(), kind.plural()))
            .collect();
        let mut summary = parts.join(", ");
        if let Some(tower) = &self.tower {
            summary.push_str(&format!(", and a tower with {} twins below it", tower.len() - 1));
        }
        summary
    }
}

/// The built-in model set: a `Space` base that `Site`, `Building`, `Floor` and `Room` extend, `Device`, `Sensor`, and `Tenant`, which owns sites.
pub fn models() -> Value {
    let property =
        |name: &str, schema: &str| json!({ "@type": "Property", "name": name, "schema": schema, "writable": true });
    let relationship = |name: &str, target: &str| json!({ "@type": "Relationship", "name": name, "target": target });
    let interface = |kind: Kind, extends: Option<&str>, contents: Vec<Value>| {
        let mut interface = json!({
            "@context": "dtmi:dtdl:context;3",
            "@id": kind.model(),
            "@type": "Interface",
            "displayName": format!("{kind:?}"),
            "contents": contents,
        });
        if let Some(extends) = extends {
            interface["extends"] = json!(extends);
        }
        interface
    };
    let space = "dtmi:twinscape:bench:Space;1";
    json!([
        {
            "@context": "dtmi:dtdl:context;3",
            "@id": space,
            "@type": "Interface",
            "displayName": "Space",
            "contents": [property("name", "string"), property("area", "double"), relationship("contains", space)],
        },
        interface(Kind::Tenant, None, vec![property("name", "string"), relationship("contains", Kind::Site.model())]),
        interface(Kind::Site, Some(space), vec![]),
        interface(Kind::Building, Some(space), vec![]),
        interface(Kind::Floor, Some(space), vec![]),
        interface(
            Kind::Room,
            Some(space),
            vec![property("occupied", "boolean"), relationship("hasDevice", Kind::Device.model())],
        ),
        interface(
            Kind::Device,
            None,
            vec![
                property("name", "string"),
                property("serialNumber", "string"),
                relationship("hasSensor", Kind::Sensor.model()),
                relationship("locatedIn", space),
            ],
        ),
        interface(
            Kind::Sensor,
            None,
            vec![property("name", "string"), property("temperature", "double"), relationship("locatedIn", space)],
        ),
    ])
}

/// SplitMix64: small, fast and fully specified here, so a seed means the same numbers in every build (a library generator may change its stream between versions).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`), by multiply-shift, which is unbiased enough for load generation.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How many twins of each kind a portfolio of `twins` twins has; every level has at least as many twins as the level above, so every parent has a child.
fn counts(twins: usize) -> [usize; 7] {
    assert!((TWINS_MIN as usize..=TWINS_MAX as usize).contains(&twins), "the twin count is checked where it is parsed");
    let sites = ((twins + TWINS_PER_SITE / 2) / TWINS_PER_SITE).max(1);
    let tenants = sites.div_ceil(SITES_PER_TENANT);
    let rest = twins - tenants - sites;
    let mut counts = [tenants, sites, 0, 0, 0, 0, 0];
    for (level, weight) in WEIGHTS.iter().enumerate() {
        counts[level + 2] = counts[level + 1].max((rest * weight + WEIGHT_TOTAL / 2) / WEIGHT_TOTAL);
    }
    counts[6] = twins - counts[..6].iter().sum::<usize>();
    assert!(counts[6] >= counts[5], "sensors outnumber devices for every allowed count: {counts:?}");
    counts
}

/// How many floors, rooms, devices and sensors a tower of `descendants` twins has: an ordinary building's proportions
/// (5 floors, 100 rooms and 200 devices per 998 twins, the rest sensors), every level at least one twin, or `floors`
/// floors when given (at most a quarter of the descendants, which keeps sensors at least as many as devices).
fn tower_counts(descendants: usize, floors: Option<usize>) -> [usize; 4] {
    // Per building, WEIGHTS[0] of the WEIGHT_TOTAL twins below a site: the building itself and 998 below it.
    let below_building = WEIGHT_TOTAL / WEIGHTS[0] - 1;
    let share = |weight: usize| (descendants * weight / WEIGHTS[0] + below_building / 2) / below_building;
    let floors = floors.unwrap_or_else(|| share(WEIGHTS[1]).max(1));
    let rooms = share(WEIGHTS[2]).max(floors);
    let devices = share(WEIGHTS[3]).max(rooms);
    let sensors = descendants - floors - rooms - devices;
    assert!(sensors >= devices, "sensors outnumber devices for every allowed tower: {descendants}");
    [floors, rooms, devices, sensors]
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Generates a portfolio and renders its level counts, its first and last twins of each level and one body of each kind.
    fn check(twins: usize, seed: u64, expect: Expect) {
        let portfolio = Portfolio::generate(twins, seed);
        let mut out = format!("{}\n", portfolio.summary());
        for range in &portfolio.levels {
            out.push_str(&format!("{} .. {}\n", portfolio.twins[range.start].id, portfolio.twins[range.end - 1].id));
        }
        for range in &portfolio.levels {
            out.push_str(&format!("{}\n", portfolio.twin_body(range.start)));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn portfolio_levels_ids_and_bodies() {
        check(
            300,
            1,
            expect![[r#"
                1 tenants, 1 sites, 1 buildings, 1 floors, 30 rooms, 60 devices, 206 sensors
                tenant-1 .. tenant-1
                tenant-1_site-1 .. tenant-1_site-1
                tenant-1_site-1_bldg-1 .. tenant-1_site-1_bldg-1
                tenant-1_site-1_bldg-1_floor-1 .. tenant-1_site-1_bldg-1_floor-1
                tenant-1_site-1_bldg-1_floor-1_room-1 .. tenant-1_site-1_bldg-1_floor-1_room-30
                tenant-1_site-1_bldg-1_floor-1_room-1_dev-1 .. tenant-1_site-1_bldg-1_floor-1_room-30_dev-2
                tenant-1_site-1_bldg-1_floor-1_room-1_dev-1_sensor-1 .. tenant-1_site-1_bldg-1_floor-1_room-30_dev-2_sensor-3
                {"$metadata":{"$model":"dtmi:twinscape:bench:Tenant;1"},"name":"tenant-1"}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Site;1"},"name":"site-1","area":37242.83}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Building;1"},"name":"bldg-1","area":16007.95}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Floor;1"},"name":"floor-1","area":2957.78}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Room;1"},"name":"room-1","area":13.28,"occupied":false}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Device;1"},"name":"dev-1","serialNumber":"SN-E307AE87"}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Sensor;1"},"name":"sensor-1","temperature":24.25}
            "#]],
        );
        check(
            100_000,
            1,
            expect![[r#"
                7 tenants, 50 sites, 100 buildings, 500 floors, 10004 rooms, 20009 devices, 69330 sensors
                tenant-1 .. tenant-7
                tenant-1_site-1 .. tenant-7_site-6
                tenant-1_site-1_bldg-1 .. tenant-7_site-6_bldg-1
                tenant-1_site-1_bldg-1_floor-1 .. tenant-7_site-6_bldg-1_floor-5
                tenant-1_site-1_bldg-1_floor-1_room-1 .. tenant-7_site-6_bldg-1_floor-5_room-17
                tenant-1_site-1_bldg-1_floor-1_room-1_dev-1 .. tenant-7_site-6_bldg-1_floor-5_room-17_dev-1
                tenant-1_site-1_bldg-1_floor-1_room-1_dev-1_sensor-1 .. tenant-7_site-6_bldg-1_floor-5_room-17_dev-1_sensor-3
                {"$metadata":{"$model":"dtmi:twinscape:bench:Tenant;1"},"name":"tenant-1"}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Site;1"},"name":"site-1","area":59565.76}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Building;1"},"name":"bldg-1","area":15716.04}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Floor;1"},"name":"floor-1","area":839.55}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Room;1"},"name":"room-1","area":138.4,"occupied":false}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Device;1"},"name":"dev-1","serialNumber":"SN-6D815305"}
                {"$metadata":{"$model":"dtmi:twinscape:bench:Sensor;1"},"name":"sensor-1","temperature":18.48}
            "#]],
        );
    }

    /// Renders the spatial flavor's body of the first twin of each level, and its type properties as (category, id, name).
    fn check_spatial(twins: usize, seed: u64, expect: Expect) {
        let portfolio = Portfolio::generate(twins, seed);
        let mut out = String::new();
        for range in &portfolio.levels {
            out.push_str(&format!("{}\n", portfolio.spatial_twin_body(range.start)));
        }
        for kind in Kind::ALL {
            let types: Vec<String> = kind
                .spatial_types()
                .iter()
                .map(|(id, name, ty)| format!("{id}/{name} {} {} {}", ty.category, ty.id, ty.name))
                .collect();
            out.push_str(&format!("{kind:?}: {}\n", types.join(", ")));
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn spatial_flavor_bodies_and_types() {
        check_spatial(
            300,
            1,
            expect![[r#"
            {"$metadata":{"$model":"dtmi:twinscape:Space;1"},"name":"tenant-1","typeId":10001,"type":"Tenant","subtypeId":20000,"subtype":"None","statusId":30000,"status":"None"}
            {"$metadata":{"$model":"dtmi:twinscape:Space;1"},"name":"site-1","typeId":11003,"type":"Site","subtypeId":20000,"subtype":"None","statusId":30000,"status":"None"}
            {"$metadata":{"$model":"dtmi:twinscape:Space;1"},"name":"bldg-1","typeId":11005,"type":"Building","subtypeId":20000,"subtype":"None","statusId":30000,"status":"None"}
            {"$metadata":{"$model":"dtmi:twinscape:Space;1"},"name":"floor-1","typeId":11006,"type":"Floor","subtypeId":20000,"subtype":"None","statusId":30000,"status":"None"}
            {"$metadata":{"$model":"dtmi:twinscape:Space;1"},"name":"room-1","typeId":11008,"type":"Room","subtypeId":20000,"subtype":"None","statusId":30000,"status":"None","values":{"Occupancy":{"value":"false","timestamp":"2026-01-01T00:00:00Z"}}}
            {"$metadata":{"$model":"dtmi:twinscape:Device;1"},"name":"dev-1","status":"Provisioned","typeId":60000,"type":"None","subtypeId":70000,"subtype":"None","hardwareId":"D00000022"}
            {"$metadata":{"$model":"dtmi:twinscape:Sensor;1"},"name":"sensor-1","typeId":100000,"type":"None","dataTypeId":111001,"dataType":"Temperature","dataSubtypeId":120000,"dataSubtype":"None","dataUnitTypeId":130000,"dataUnitType":"None","portTypeId":140000,"portType":"None","hardwareId":"S0000005E","value":{"value":"18.44","timestamp":"2026-01-01T00:00:00Z"}}
            Tenant: typeId/type SpaceType 10001 Tenant, subtypeId/subtype SpaceSubtype 20000 None, statusId/status SpaceStatus 30000 None
            Site: typeId/type SpaceType 11003 Site, subtypeId/subtype SpaceSubtype 20000 None, statusId/status SpaceStatus 30000 None
            Building: typeId/type SpaceType 11005 Building, subtypeId/subtype SpaceSubtype 20000 None, statusId/status SpaceStatus 30000 None
            Floor: typeId/type SpaceType 11006 Floor, subtypeId/subtype SpaceSubtype 20000 None, statusId/status SpaceStatus 30000 None
            Room: typeId/type SpaceType 11008 Room, subtypeId/subtype SpaceSubtype 20000 None, statusId/status SpaceStatus 30000 None
            Device: typeId/type DeviceType 60000 None, subtypeId/subtype DeviceSubtype 70000 None
            Sensor: typeId/type SensorType 100000 None, dataTypeId/dataType SensorDataType 111001 Temperature, dataSubtypeId/dataSubtype SensorDataSubtype 120000 None, dataUnitTypeId/dataUnitType SensorDataUnitType 130000 None, portTypeId/portType SensorPortType 140000 None
        "#]],
        );
    }

    #[test]
    fn spatial_flavor_keeps_the_tree_and_gives_unique_hardware_ids() {
        let portfolio = Portfolio::generate(5_000, 3).with_tower(1_000);
        let mut hardware_ids = std::collections::HashSet::new();
        let mut values = 0;
        for (index, twin) in portfolio.twins.iter().enumerate() {
            let body = portfolio.spatial_twin_body(index);
            assert_eq!(body["$metadata"]["$model"], twin.kind.spatial_model());
            assert_eq!(body["name"], twin.id.rsplit('_').next().expect("a segment"));
            if let Some(hardware_id) = body["hardwareId"].as_str() {
                assert!(hardware_ids.insert(hardware_id.to_owned()), "{hardware_id} twice");
                assert!(hardware_id.len() <= 36, "the 2018 face takes device hardware ids of at most 36 characters");
            }
            values += usize::from(body.get("value").is_some());
            assert!(body == portfolio.spatial_twin_body(index), "a body is derived from the seed and index alone");
        }
        let devices_and_sensors = portfolio.twins.iter().filter(|t| matches!(t.kind, Kind::Device | Kind::Sensor));
        assert_eq!(hardware_ids.len(), devices_and_sensors.count());
        let sensors = portfolio.twins.iter().filter(|t| t.kind == Kind::Sensor).count();
        assert!(
            (sensors / 3..sensors * 2 / 3).contains(&values),
            "about half the sensors have a value: {values} of {sensors}"
        );
    }

    #[test]
    fn same_seed_same_portfolio_other_seed_other_tree() {
        let ids = |seed| Portfolio::generate(5_000, seed).twins.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(7), ids(7));
        assert_ne!(ids(7), ids(8));
        let bodies = |seed| {
            let portfolio = Portfolio::generate(5_000, seed);
            (0..5_000).step_by(97).map(|i| portfolio.twin_body(i)).collect::<Vec<_>>()
        };
        assert_eq!(bodies(7), bodies(7));
        assert_ne!(bodies(7), bodies(8));
    }

    #[test]
    fn a_tower_leaves_the_rest_as_it_was() {
        let plain = Portfolio::generate(3_000, 5);
        let towered = Portfolio::generate(3_000, 5).with_tower(1_000);
        assert_eq!(towered.levels, plain.levels);
        for (index, twin) in plain.twins.iter().enumerate() {
            assert_eq!(towered.twins[index].id, twin.id);
            assert_eq!(towered.twin_body(index), plain.twin_body(index));
            assert_eq!(towered.relationship(index), plain.relationship(index));
            assert_eq!(towered.location(index), plain.location(index));
        }
        assert_eq!(towered.patchable[..plain.patchable.len()], plain.patchable[..]);
    }

    /// Adds a tower of `descendants` to a small portfolio and renders its summary, its twins per kind, and the first
    /// and last id of each of its levels.
    fn check_tower(descendants: usize, expect: Expect) {
        let portfolio = Portfolio::generate(300, 1).with_tower(descendants);
        let tower = portfolio.tower.clone().expect("a tower was added");
        let mut out = format!("{}\n", portfolio.summary());
        for kind in Kind::ALL {
            let ids: Vec<&str> = tower
                .clone()
                .filter(|&i| portfolio.twins[i].kind == kind)
                .map(|i| portfolio.twins[i].id.as_str())
                .collect();
            if let (Some(first), Some(last)) = (ids.first(), ids.last()) {
                out.push_str(&format!("{} {}: {first} .. {last}\n", ids.len(), kind.plural()));
            }
        }
        expect.assert_eq(&out);
        // Every tower twin lies below the tower building, and the tower's twins are exactly those.
        let below = |mut index: usize| loop {
            match portfolio.twins[index].parent {
                Some(parent) if parent == tower.start => return true,
                Some(parent) => index = parent,
                None => return false,
            }
        };
        assert!(tower.clone().skip(1).all(below));
        assert_eq!((0..tower.start).filter(|&i| below(i)).count(), 0);
        assert_eq!(tower.len(), descendants + 1);
    }

    #[test]
    fn tower_shape() {
        check_tower(
            4,
            expect![[r#"
                1 tenants, 1 sites, 1 buildings, 1 floors, 30 rooms, 60 devices, 206 sensors, and a tower with 4 twins below it
                1 buildings: tenant-1_site-1_tower-1 .. tenant-1_site-1_tower-1
                1 floors: tenant-1_site-1_tower-1_floor-1 .. tenant-1_site-1_tower-1_floor-1
                1 rooms: tenant-1_site-1_tower-1_floor-1_room-1 .. tenant-1_site-1_tower-1_floor-1_room-1
                1 devices: tenant-1_site-1_tower-1_floor-1_room-1_dev-1 .. tenant-1_site-1_tower-1_floor-1_room-1_dev-1
                1 sensors: tenant-1_site-1_tower-1_floor-1_room-1_dev-1_sensor-1 .. tenant-1_site-1_tower-1_floor-1_room-1_dev-1_sensor-1
            "#]],
        );
        check_tower(
            20_000,
            expect![[r#"
            1 tenants, 1 sites, 1 buildings, 1 floors, 30 rooms, 60 devices, 206 sensors, and a tower with 20000 twins below it
            1 buildings: tenant-1_site-1_tower-1 .. tenant-1_site-1_tower-1
            100 floors: tenant-1_site-1_tower-1_floor-1 .. tenant-1_site-1_tower-1_floor-100
            2004 rooms: tenant-1_site-1_tower-1_floor-1_room-1 .. tenant-1_site-1_tower-1_floor-100_room-20
            4008 devices: tenant-1_site-1_tower-1_floor-1_room-1_dev-1 .. tenant-1_site-1_tower-1_floor-100_room-20_dev-2
            13888 sensors: tenant-1_site-1_tower-1_floor-1_room-1_dev-1_sensor-1 .. tenant-1_site-1_tower-1_floor-100_room-20_dev-2_sensor-3
        "#]],
        );
    }

    #[test]
    fn tower_floors() {
        // The bench's spaces scenario: a tower of 20,000 twins on 10 floors, each floor about 2,000 twins with what is below it.
        let portfolio = Portfolio::generate(300, 1).with_tower_floors(20_000, 10);
        let tower = portfolio.tower.clone().expect("a tower was added");
        let mut below_floor = vec![0usize; portfolio.twins.len()];
        for index in tower.clone().rev() {
            let twin = &portfolio.twins[index];
            if twin.kind == Kind::Floor {
                continue;
            }
            if let Some(parent) = twin.parent.filter(|&p| p >= tower.start) {
                below_floor[parent] += below_floor[index] + 1;
            }
        }
        let floors: Vec<String> = tower
            .clone()
            .filter(|&i| portfolio.twins[i].kind == Kind::Floor)
            .map(|i| format!("{}: {} twins below", portfolio.twins[i].id, below_floor[i]))
            .collect();
        expect![[r#"
            tenant-1_site-1_tower-1_floor-1: 2211 twins below
            tenant-1_site-1_tower-1_floor-2: 2211 twins below
            tenant-1_site-1_tower-1_floor-3: 2211 twins below
            tenant-1_site-1_tower-1_floor-4: 2211 twins below
            tenant-1_site-1_tower-1_floor-5: 2146 twins below
            tenant-1_site-1_tower-1_floor-6: 1800 twins below
            tenant-1_site-1_tower-1_floor-7: 1800 twins below
            tenant-1_site-1_tower-1_floor-8: 1800 twins below
            tenant-1_site-1_tower-1_floor-9: 1800 twins below
            tenant-1_site-1_tower-1_floor-10: 1800 twins below"#]]
        .assert_eq(&floors.join("\n"));
        // The floor count of `with_tower` gives the same tower, and every allowed floor count a valid one.
        let ids = |p: Portfolio| p.twins.into_iter().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(
            ids(Portfolio::generate(300, 1).with_tower(20_000)),
            ids(Portfolio::generate(300, 1).with_tower_floors(20_000, 100))
        );
        let cases = [4, 5, 8, 99, 1_000].into_iter().flat_map(|d| (1..=d / 4).map(move |f| (d, f)));
        for (descendants, floors) in cases.chain([(20_000, 1), (20_000, 4_999), (20_000, 5_000)]) {
            let tower = Portfolio::generate(7, 1).with_tower_floors(descendants, floors).tower.expect("a tower");
            assert_eq!(tower.len(), descendants + 1);
        }
    }

    #[test]
    fn parents_come_before_children_and_every_parent_has_a_child() {
        for twins in (7..400).chain([1_999, 2_001, 10_000, 123_457]) {
            let portfolio = Portfolio::generate(twins, twins as u64);
            assert_eq!(portfolio.twins.len(), twins);
            assert_eq!(portfolio.levels.len(), Kind::ALL.len());
            let mut has_child = vec![false; twins];
            for (index, twin) in portfolio.twins.iter().enumerate() {
                let level = Kind::ALL.iter().position(|k| *k == twin.kind).expect("a known kind");
                assert!(portfolio.levels[level].contains(&index));
                match twin.parent {
                    None => assert_eq!(twin.kind, Kind::Tenant),
                    Some(parent) => {
                        assert!(parent < index, "{} comes before its parent", twin.id);
                        assert!(portfolio.levels[level - 1].contains(&parent));
                        assert!(twin.id.starts_with(&format!("{}_", portfolio.twins[parent].id)));
                        has_child[parent] = true;
                    }
                }
                assert!(
                    twin.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
                );
            }
            let leaves = portfolio.levels[6].clone();
            assert!((0..leaves.start).all(|i| has_child[i]), "a parent without children at {twins} twins");
        }
    }
}
