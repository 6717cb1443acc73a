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

/// `GET system/roles`: the role definitions, as `RoleDefinitionRetrieve`.
async fn roles() -> Json<Value> {
    let roles: Vec<Value> = access::ROLES
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
