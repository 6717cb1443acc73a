//! The nine roles of the 2018 service: their fixed ids, names and permissions, each permission a set of actions on the resources its condition selects.

use std::sync::OnceLock;

use crate::assignment::{Action, Resource};
use crate::condition::Condition;

/// The role that may do everything in its subtree, which the occupancy sample gives its function.
pub const SPACE_ADMINISTRATOR: &str = "98e44ad7-28d4-4007-853b-b9968ad132d1";

/// A built-in role: its fixed id (the 2018 service's), its name, and what it permits.
pub struct Role {
    pub id: &'static str,
    pub name: &'static str,
    pub permissions: &'static [Permission],
}

/// One grant of a role: the actions it allows on the resources its condition selects (`None`: every resource).
pub struct Permission {
    pub actions: &'static [&'static str],
    pub condition: Option<&'static str>,
}

/// The nine roles of the 2018 service, in the order its documentation lists them.
///
/// Ids are the documented ones. Names are written without spaces, as the one definition the documentation shows (`DeviceAdministrator`) is.
/// Only the Device Administrator's permissions are documented in full; the others are written in the same condition language from each role's one-line summary ("CRUD for users and user-related objects. READ for spaces.").
pub const ROLES: [Role; 9] = [
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

/// Every action a permission may grant.
const CRUD: [&str; 4] = ["Read", "Create", "Update", "Delete"];

/// What the administrators of one kind of object may read besides it: spaces and what hangs off them (the documented Device Administrator's second grant).
const READ_SPACES: &str = "@Resource.Type == 'Space' && @Resource.Category == 'WithoutSpecifiedRbacResourceTypes' || @Resource.Type Any_of {'ExtendedPropertyKey', 'SpaceExtendedProperty', 'SpaceBlobMetadata', 'SpaceResource', 'Matcher'}";

/// Devices and sensors with their blobs and extended properties.
const DEVICES_AND_SENSORS: &str = "@Resource.Type Any_of {'Device', 'DeviceBlobMetadata', 'DeviceExtendedProperty', 'Sensor', 'SensorBlobMetadata', 'SensorExtendedProperty'}";

/// `GET system/roles`: the role definitions, as `RoleDefinitionRetrieve`.
impl Role {
    /// The role with this id (ignoring case, as GUIDs are written either way).
    pub fn by_id(id: &str) -> Option<&'static Role> {
        ROLES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Whether one of the role's permissions grants `action` on `resource`.
    pub fn permits(&self, action: Action, resource: &Resource<'_>) -> bool {
        let at = ROLES.iter().position(|r| r.id == self.id).expect("roles come from ROLES");
        let conditions = &parsed()[at];
        self.permissions.iter().zip(conditions).any(|(permission, condition)| {
            permission.actions.contains(&action.name())
                && condition.as_ref().is_none_or(|c| c.holds(&|name| resource.attribute(name)))
        })
    }
}

/// The permissions' conditions, parsed once; a role table that does not parse is a bug the tests catch.
fn parsed() -> &'static Vec<Vec<Option<Condition>>> {
    static PARSED: OnceLock<Vec<Vec<Option<Condition>>>> = OnceLock::new();
    PARSED.get_or_init(|| {
        ROLES
            .iter()
            .map(|role| {
                role.permissions
                    .iter()
                    .map(|p| p.condition.map(|text| Condition::parse(text).expect("the role table's conditions parse")))
                    .collect()
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::{ROLES, Role};
    use crate::assignment::{Action, Resource};

    #[test]
    fn every_condition_parses() {
        for role in &ROLES {
            for permission in role.permissions {
                if let Some(text) = permission.condition {
                    crate::condition::Condition::parse(text).unwrap_or_else(|e| panic!("{}: {e}", role.name));
                }
            }
        }
    }

    #[test]
    fn what_each_role_may_do() {
        let resources = [
            Resource::space(),
            Resource { kind: "Sensor", category: None },
            Resource { kind: "Device", category: None },
            Resource { kind: "KeyStore", category: None },
            Resource { kind: "ExtendedType", category: Some("SensorType") },
        ];
        let mut out = String::new();
        for role in &ROLES {
            out.push_str(&format!("{}:", role.name));
            for resource in &resources {
                let actions: String =
                    Action::ALL.iter().filter(|a| role.permits(**a, resource)).map(|a| &a.name()[..1]).collect();
                out.push_str(&format!(" {}={}", resource.kind, if actions.is_empty() { "-" } else { &actions }));
            }
            out.push('\n');
        }
        expect![[r#"
            SpaceAdministrator: Space=RCUD Sensor=RCUD Device=RCUD KeyStore=RCUD ExtendedType=RCUD
            UserAdministrator: Space=R Sensor=- Device=- KeyStore=- ExtendedType=-
            DeviceAdministrator: Space=R Sensor=RCUD Device=RCUD KeyStore=- ExtendedType=RCUD
            KeyAdministrator: Space=R Sensor=- Device=- KeyStore=RCUD ExtendedType=-
            TokenAdministrator: Space=R Sensor=- Device=- KeyStore=RU ExtendedType=-
            User: Space=R Sensor=R Device=- KeyStore=- ExtendedType=R
            SupportSpecialist: Space=R Sensor=R Device=R KeyStore=- ExtendedType=R
            DeviceInstaller: Space=R Sensor=RU Device=RU KeyStore=- ExtendedType=-
            GatewayDevice: Space=- Sensor=RC Device=R KeyStore=- ExtendedType=-
        "#]]
        .assert_eq(&out);
        assert!(Role::by_id("98E44AD7-28D4-4007-853B-B9968AD132D1").is_some());
    }
}
