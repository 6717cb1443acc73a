//! The catalogue as shipped: ids that never change (a snapshot of every category, id and name), unique ids and names, every category filled, `Required` always loaded, and the names the 2018 service is known to have had.

use std::collections::{BTreeMap, HashSet};

use expect_test::{expect, expect_file};
use ontology::{Category, ExtendedType, Ontology, OntologySet, OntologyState, SYSTEM_TYPE_IDS, catalogue};

/// Every type, one line each: what the snapshot of ids compares.
fn check_types() -> &'static [ExtendedType] {
    catalogue().types()
}

/// Changing or reusing an id breaks every stored twin and client that names a type by id: this snapshot makes such a change fail until it is reviewed.
/// Adding a type adds a line; `UPDATE_EXPECT=1` rewrites the file.
#[test]
fn ids_are_stable() {
    let lines: String = check_types().iter().map(|t| format!("{} {} {}\n", t.category(), t.id(), t.name())).collect();
    expect_file!["../../test_data/type-ids.txt"].assert_eq(&lines);
}

#[test]
fn ids_are_unique_and_in_their_category_block() {
    let mut seen = HashSet::new();
    for ty in check_types() {
        assert!(seen.insert(ty.id()), "id {} is used twice", ty.id());
        assert!(SYSTEM_TYPE_IDS.contains(&ty.id().get()) && ty.id().is_system());
        let block = ty.category().id() * 10_000;
        assert!((block..block + 10_000).contains(&ty.id().get()), "{} {} is outside its block", ty.category(), ty.id());
        assert_eq!(catalogue().by_id(ty.id()), Some(ty));
    }
}

#[test]
fn names_are_unique_within_a_category_ignoring_case() {
    let mut seen = HashSet::new();
    for ty in check_types() {
        assert!(
            seen.insert((ty.category(), ty.name().to_ascii_lowercase())),
            "{} {} repeats",
            ty.category(),
            ty.name()
        );
        let name = ty.name();
        assert!((3..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(!ty.friendly_name().is_empty() && ty.friendly_name().chars().count() <= 64);
        assert_eq!(catalogue().by_name(ty.category(), &name.to_ascii_uppercase()), Some(ty));
    }
}

#[test]
fn every_category_has_none_and_named_types() {
    for category in Category::ALL {
        let types = catalogue().category(category);
        assert!(types.len() >= 2, "{category} has no types beyond None");
        let none = catalogue().none(category);
        assert_eq!(none.name(), "None");
        assert_eq!(none.ontologies().to_string(), "Required");
        let orders: Vec<u32> = types.iter().map(|t| t.logical_order()).collect();
        assert_eq!(orders, (0..types.len() as u32).collect::<Vec<_>>(), "{category} is listed in logical order");
    }
}

#[test]
fn required_is_always_loaded() {
    assert!(OntologyState::default().is_loaded(Ontology::Required));
    assert!(OntologyState::restore(OntologySet::EMPTY, []).is_loaded(Ontology::Required));
    let mut state = OntologyState::default();
    for ontology in Ontology::ALL {
        let _ = state.set_loaded(ontology, false);
    }
    assert_eq!(state.loaded().to_string(), "Required");
    let required: Vec<&'static ExtendedType> = catalogue().ontology(Ontology::Required).collect();
    assert!(required.iter().all(|t| state.unusable(t).is_none()), "Required types stay usable alone");
    assert_eq!(
        state.set_loaded(Ontology::Required, false).map_err(|e| e.to_string()),
        Err("the Required ontology holds the types every object falls back to and cannot be unloaded".to_owned())
    );
}

/// The names the 2018 service's documentation, samples and tools are known to have used; each is a system type, usable by a new tenant.
#[test]
fn names_known_from_the_2018_service_are_usable_by_default() {
    let known: &[(Category, &[&str])] = &[
        (
            Category::SpaceType,
            &["Tenant", "Customer", "Region", "Venue", "Floor", "Area", "Room", "Workstation", "Desk", "Chair"],
        ),
        (
            Category::SpaceSubtype,
            &[
                "FocusRoom",
                "ConferenceRoom",
                "BathRoom",
                "StoreVenue",
                "SalesVenue",
                "MarketingVenue",
                "NeighborhoodArea",
                "ConfRoomArea",
                "PhoneRoomArea",
                "TeamRoomArea",
                "FocusRoomArea",
            ],
        ),
        (Category::SpaceStatus, &["Active", "Disabled"]),
        (Category::SensorDataType, &["Motion", "Temperature", "CarbonDioxide", "Humidity", "Sound", "Light"]),
        (
            Category::SensorDataSubtype,
            &[
                "OutsideAirTemperature",
                "ReturnAirTemperature",
                "InsideTemperature",
                "OutsideTemperature",
                "MicrophoneSound",
                "SoundImpact",
                "VoiceSound",
            ],
        ),
        (
            Category::SensorDataUnitType,
            &[
                "Celsius",
                "Fahrenheit",
                "Decibels",
                "Pascal",
                "CubicFeetPerMinute",
                "Seconds",
                "CelsiusTemperature",
                "FahrenheitTemperature",
            ],
        ),
        (Category::SensorPortType, &["AnalogInput", "AnalogOutput", "BinaryInput", "BinaryOutput"]),
        (Category::SensorType, &["Classic"]),
        (
            Category::DeviceSubtype,
            &["Gateway", "Controller", "Battery", "Switch", "AirHandlerUnit", "VariableAirVolume"],
        ),
        (Category::SpaceBlobType, &["Map", "Image", "File"]),
        (Category::SpaceBlobSubtype, &["GenericMap", "ElectricalMap", "SatelliteMap", "WayfindingMap"]),
        (Category::DeviceBlobType, &["Model", "Specification", "File"]),
        (
            Category::DeviceBlobSubtype,
            &["PhysicalModel", "LogicalModel", "KitSpecification", "FunctionalSpecification"],
        ),
        (Category::UserBlobType, &["Image", "Video", "File"]),
        (Category::UserBlobSubtype, &["ProfessionalImage", "VacationImage", "CommercialVideo"]),
    ];
    let state = OntologyState::default();
    let mut missing = Vec::new();
    for (category, names) in known {
        for name in names.iter() {
            match catalogue().by_name(*category, name) {
                Some(ty) if state.unusable(ty).is_none() => {}
                Some(ty) => missing.push(format!(
                    "{category} {name}: {}",
                    state.unusable(ty).map(|u| u.to_string()).unwrap_or_default()
                )),
                None => missing.push(format!("{category} {name}: missing")),
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// How many types each ontology gives each category (a type in two ontologies counts in both), and how many a new tenant can use.
#[test]
fn counts() {
    let state = OntologyState::default();
    let mut out = format!(
        "{:<20}{:>6}{:>9}{:>9}{:>9}{:>8}{:>12}{:>8}\n",
        "", "types", "Required", "Default", "Building", "BACnet", "EnergyGrid", "usable"
    );
    let mut totals = BTreeMap::new();
    for category in Category::ALL {
        let types = catalogue().category(category);
        let usable = types.iter().filter(|t| state.unusable(t).is_none()).count();
        out.push_str(&format!("{:<20}{:>6}", category.name(), types.len()));
        *totals.entry("types").or_insert(0) += types.len();
        for (ontology, width) in Ontology::ALL.into_iter().zip([9, 9, 9, 8, 12]) {
            let count = catalogue().list(category, Some(ontology)).count();
            *totals.entry(ontology.name()).or_insert(0) += count;
            out.push_str(&format!("{count:>width$}"));
        }
        *totals.entry("usable").or_insert(0) += usable;
        out.push_str(&format!("{usable:>8}\n"));
    }
    out.push_str(&format!(
        "{:<20}{:>6}{:>9}{:>9}{:>9}{:>8}{:>12}{:>8}\n",
        "all",
        totals["types"],
        totals["Required"],
        totals["Default"],
        totals["Building"],
        totals["BACnet"],
        totals["EnergyGrid"],
        totals["usable"]
    ));
    expect![[r#"
                             types Required  Default Building  BACnet  EnergyGrid  usable
        SpaceType               49        2       13       24       0          14      15
        SpaceSubtype           110        1       32       63       0          14      33
        SpaceStatus             18        1        7        5       0           5       8
        SpaceBlobType           11        1        6        3       0           1       7
        SpaceBlobSubtype        21        1        8        9       0           3       9
        DeviceType               6        1        5        0       0           0       6
        DeviceSubtype           81        1       15       33      11          29      16
        DeviceBlobType           8        1        7        0       0           0       8
        DeviceBlobSubtype       16        1       12        0       1           2      13
        SensorType              68        1        3        0      64           0       4
        SensorDataType          62        1       35        2      26          19      34
        SensorDataSubtype       56        1       15        0      29          13      16
        SensorDataUnitType     226        1       33        0     211          35      32
        SensorPortType          13        1       12        0       0           0      13
        UserBlobType             6        1        5        0       0           0       6
        UserBlobSubtype          8        1        7        0       0           0       8
        all                    759       17      215      139     342         135     228
    "#]]
    .assert_eq(&out);
}
