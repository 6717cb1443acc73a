//! The `system/*` lists of the 2018 management face: the role definitions, and the enumerations (device statuses, extended type categories, property key scopes, matcher comparisons and targets, space resource regions, sizes and statuses, time zones) as `[{id, name}]`.
//!
//! Every list is a static table; an entry's id is its position from 1 and is part of the API once released, so tables only ever grow at the end.
//! Extended type categories take their ids from `ontology::Category`, property key scopes and resource statuses their order from `spatial::properties::Scope` and `spatial::state::ResourceStatus`, which own them; the rest is owned here.
//! Nothing here depends on the tenant, and nothing checks permissions: a role definition is data for the role assignments, not an authorization engine.

use axum::Router;
use axum::routing::get;
use axum::{Json, routing::MethodRouter};
use serde_json::{Value, json};

use crate::router::AppState;

/// The `system/*` routes, relative to the face's base.
pub(crate) fn routes() -> Router<AppState> {
    let lists: [(&str, MethodRouter<AppState>); 10] = [
        ("/system/roles", get(roles)),
        ("/system/devices/statuses", get(|| listed(DEVICE_STATUSES))),
        ("/system/extendedtypes/categories", get(categories)),
        ("/system/extendedpropertykeys/scopes", get(scopes)),
        ("/system/matchers/conditions/comparisons", get(|| listed(MATCHER_COMPARISONS))),
        ("/system/matchers/conditions/targets", get(|| listed(MATCHER_TARGETS))),
        ("/system/spacesresources/regions", get(|| listed(RESOURCE_REGIONS))),
        ("/system/spacesresources/sizes", get(|| listed(RESOURCE_SIZES))),
        ("/system/spacesresources/statuses", get(resource_statuses)),
        ("/system/timezones", get(|| listed(TIME_ZONES))),
    ];
    lists.into_iter().fold(Router::new(), |router, (path, method_router)| super::route(router, path, method_router))
}

/// A built-in role: its fixed id (the 2018 service's), its name, and what it permits.
pub(crate) struct Role {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) permissions: &'static [Permission],
}

/// One grant of a role: the actions it allows on the resources its condition selects (`None`: every resource).
pub(crate) struct Permission {
    pub(crate) actions: &'static [&'static str],
    pub(crate) condition: Option<&'static str>,
}

/// The nine roles of the 2018 service, in the order its documentation lists them.
///
/// Ids are the documented ones. Names are written without spaces, as the one definition the documentation shows (`DeviceAdministrator`) is.
/// Only the Device Administrator's permissions are documented in full; the others are written in the same condition language from each role's one-line summary ("CRUD for users and user-related objects. READ for spaces.").
pub(crate) const ROLES: [Role; 9] = [
    Role {
        id: "98e44ad7-28d4-4007-853b-b9968ad132d1",
        name: "SpaceAdministrator",
        permissions: &[Permission { actions: &CRUD, condition: None }],
    },
    Role {
        id: "dfaac54c-f583-4dd2-b45d-8d4bbc0aa1ac",
        name: "UserAdministrator",
        permissions: &[
            Permission {
                actions: &CRUD,
                condition: Some(
                    "@Resource.Type Any_of {'User', 'UserBlobMetadata', 'UserExtendedProperty'} || ( @Resource.Type == 'ExtendedType' && (!Exists @Resource.Category || @Resource.Category Any_of { 'UserBlobSubtype', 'UserBlobType' } ) )",
                ),
            },
            Permission { actions: &["Read"], condition: Some(READ_SPACES) },
        ],
    },
    Role {
        id: "3cdfde07-bc16-40d9-bed3-66d49a8f52ae",
        name: "DeviceAdministrator",
        permissions: &[
            Permission {
                actions: &CRUD,
                condition: Some(
                    "@Resource.Type Any_of {'Device', 'DeviceBlobMetadata', 'DeviceExtendedProperty', 'Sensor', 'SensorBlobMetadata', 'SensorExtendedProperty'} || ( @Resource.Type == 'ExtendedType' && (!Exists @Resource.Category || @Resource.Category Any_of { 'DeviceSubtype', 'DeviceType', 'DeviceBlobType', 'DeviceBlobSubtype', 'SensorBlobSubtype', 'SensorBlobType', 'SensorDataSubtype', 'SensorDataType', 'SensorDataUnitType', 'SensorPortType', 'SensorType' } ) )",
                ),
            },
            Permission { actions: &["Read"], condition: Some(READ_SPACES) },
        ],
    },
    Role {
        id: "5a0b1afc-e118-4068-969f-b50efb8e5da6",
        name: "KeyAdministrator",
        permissions: &[
            Permission { actions: &CRUD, condition: Some("@Resource.Type == 'KeyStore'") },
            Permission { actions: &["Read"], condition: Some(READ_SPACES) },
        ],
    },
    Role {
        id: "38a3bb21-5424-43b4-b0bf-78ee228840c3",
        name: "TokenAdministrator",
        permissions: &[
            Permission { actions: &["Read", "Update"], condition: Some("@Resource.Type == 'KeyStore'") },
            Permission { actions: &["Read"], condition: Some(READ_SPACES) },
        ],
    },
    Role {
        id: "b1ffdb77-c635-4e7e-ad25-948237d85b30",
        name: "User",
        permissions: &[Permission {
            actions: &["Read"],
            condition: Some(
                "@Resource.Type Any_of {'Space', 'SpaceBlobMetadata', 'SpaceExtendedProperty', 'Sensor', 'SensorBlobMetadata', 'SensorExtendedProperty', 'User', 'UserBlobMetadata', 'UserExtendedProperty', 'ExtendedPropertyKey', 'ExtendedType'}",
            ),
        }],
    },
    Role {
        id: "6e46958b-dc62-4e7c-990c-c3da2e030969",
        name: "SupportSpecialist",
        permissions: &[Permission { actions: &["Read"], condition: Some("@Resource.Type != 'KeyStore'") }],
    },
    Role {
        id: "b16dd9fe-4efe-467b-8c8c-720e2ff8817c",
        name: "DeviceInstaller",
        permissions: &[
            Permission { actions: &["Read", "Update"], condition: Some(DEVICES_AND_SENSORS) },
            Permission { actions: &["Read"], condition: Some(READ_SPACES) },
        ],
    },
    Role {
        id: "d4c69766-e9bd-4e61-bfc1-d8b6e686c7a8",
        name: "GatewayDevice",
        permissions: &[
            Permission { actions: &["Create"], condition: Some("@Resource.Type == 'Sensor'") },
            Permission { actions: &["Read"], condition: Some(DEVICES_AND_SENSORS) },
        ],
    },
];

/// Device statuses (`system/devices/statuses`).
pub(crate) const DEVICE_STATUSES: &[&str] = &["Provisioned", "Active", "Offline", "Disabled"];

/// How a matcher condition compares (`system/matchers/conditions/comparisons`).
pub(crate) const MATCHER_COMPARISONS: &[&str] = &["Equals", "NotEquals", "Contains"];

/// What a matcher condition reads (`system/matchers/conditions/targets`).
pub(crate) const MATCHER_TARGETS: &[&str] = &["Sensor", "SensorDevice", "SensorSpace"];

/// Space resource regions (`system/spacesresources/regions`), the Azure regions of the 2018 service.
pub(crate) const RESOURCE_REGIONS: &[&str] = &[
    "WestUS",
    "WestUS2",
    "CentralUSEUAP",
    "EastUS",
    "EastUS2",
    "CentralUS",
    "SouthCentralUS",
    "WestCentralUS",
    "CanadaEast",
    "CanadaCentral",
    "BrazilSouth",
    "AustraliaEast",
    "AustraliaSoutheast",
    "SoutheastAsia",
    "EastAsia",
    "CentralIndia",
    "SouthIndia",
    "JapanEast",
    "JapanWest",
    "KoreaCentral",
    "KoreaSouth",
    "NorthEurope",
    "WestEurope",
    "UKWest",
    "UKSouth",
    "GermanyCentral",
    "GermanyNortheast",
];

/// Space resource sizes (`system/spacesresources/sizes`).
pub(crate) const RESOURCE_SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];

/// Time zones (`system/timezones`), by their Windows names as the 2018 service (a .NET service) knew them, west to east; a space's `timeZoneId` is a position in this list from 1.
pub(crate) const TIME_ZONES: &[&str] = &[
    "Dateline Standard Time",
    "UTC-11",
    "Hawaiian Standard Time",
    "Alaskan Standard Time",
    "Pacific Standard Time (Mexico)",
    "Pacific Standard Time",
    "US Mountain Standard Time",
    "Mountain Standard Time",
    "Central America Standard Time",
    "Central Standard Time",
    "Central Standard Time (Mexico)",
    "Canada Central Standard Time",
    "SA Pacific Standard Time",
    "Eastern Standard Time",
    "US Eastern Standard Time",
    "Venezuela Standard Time",
    "Atlantic Standard Time",
    "SA Western Standard Time",
    "Pacific SA Standard Time",
    "Newfoundland Standard Time",
    "E. South America Standard Time",
    "Argentina Standard Time",
    "SA Eastern Standard Time",
    "Greenland Standard Time",
    "Montevideo Standard Time",
    "UTC-02",
    "Azores Standard Time",
    "Cape Verde Standard Time",
    "UTC",
    "GMT Standard Time",
    "Greenwich Standard Time",
    "Morocco Standard Time",
    "W. Europe Standard Time",
    "Central Europe Standard Time",
    "Romance Standard Time",
    "Central European Standard Time",
    "W. Central Africa Standard Time",
    "GTB Standard Time",
    "E. Europe Standard Time",
    "FLE Standard Time",
    "South Africa Standard Time",
    "Israel Standard Time",
    "Egypt Standard Time",
    "Turkey Standard Time",
    "Arab Standard Time",
    "Russian Standard Time",
    "E. Africa Standard Time",
    "Iran Standard Time",
    "Arabian Standard Time",
    "Afghanistan Standard Time",
    "Pakistan Standard Time",
    "India Standard Time",
    "Nepal Standard Time",
    "Bangladesh Standard Time",
    "Myanmar Standard Time",
    "SE Asia Standard Time",
    "China Standard Time",
    "Singapore Standard Time",
    "Taipei Standard Time",
    "W. Australia Standard Time",
    "Tokyo Standard Time",
    "Korea Standard Time",
    "Cen. Australia Standard Time",
    "AUS Central Standard Time",
    "E. Australia Standard Time",
    "AUS Eastern Standard Time",
    "Tasmania Standard Time",
    "West Pacific Standard Time",
    "Central Pacific Standard Time",
    "New Zealand Standard Time",
    "UTC+12",
    "Tonga Standard Time",
];

/// Every action a permission may grant.
const CRUD: [&str; 4] = ["Read", "Create", "Update", "Delete"];

/// What the administrators of one kind of object may read besides it: spaces and what hangs off them (the documented Device Administrator's second grant).
const READ_SPACES: &str = "@Resource.Type == 'Space' && @Resource.Category == 'WithoutSpecifiedRbacResourceTypes' || @Resource.Type Any_of {'ExtendedPropertyKey', 'SpaceExtendedProperty', 'SpaceBlobMetadata', 'SpaceResource', 'Matcher'}";

/// Devices and sensors with their blobs and extended properties.
const DEVICES_AND_SENSORS: &str = "@Resource.Type Any_of {'Device', 'DeviceBlobMetadata', 'DeviceExtendedProperty', 'Sensor', 'SensorBlobMetadata', 'SensorExtendedProperty'}";

/// `GET system/roles`: the role definitions, as `RoleDefinitionRetrieve`.
async fn roles() -> Json<Value> {
    let roles: Vec<Value> = ROLES
        .iter()
        .map(|role| {
            let permissions: Vec<Value> = role
                .permissions
                .iter()
                .map(|p| json!({ "notActions": [], "actions": p.actions, "condition": p.condition }))
                .collect();
            json!({
                "id": role.id,
                "name": role.name,
                "permissions": permissions,
                "accessControlPath": "/system",
                "friendlyPath": "/system",
                "accessControlType": "System",
            })
        })
        .collect();
    Json(Value::Array(roles))
}

/// `GET system/extendedtypes/categories`, with the ids `ontology::Category` gives them.
async fn categories() -> Json<Value> {
    Json(ontology::Category::ALL.iter().map(|c| json!({ "id": c.id(), "name": c.name() })).collect())
}

/// `GET system/extendedpropertykeys/scopes`, in the order of `Scope::ALL`.
async fn scopes() -> Json<Value> {
    let names: Vec<&str> = spatial::properties::Scope::ALL.iter().map(|s| s.name()).collect();
    listed(&names).await
}

/// `GET system/spacesresources/statuses`, in the order of `ResourceStatus::ALL`.
async fn resource_statuses() -> Json<Value> {
    let names: Vec<&str> = spatial::state::ResourceStatus::ALL.iter().map(|s| s.name()).collect();
    listed(&names).await
}

/// A table as `[{id, name}]`, ids from 1 in table order.
async fn listed(names: &[&str]) -> Json<Value> {
    Json(names.iter().zip(1u32..).map(|(name, id)| json!({ "id": id, "name": name })).collect())
}
