//! Role assignments and the decision: an assignment gives a role to an object on a space path (`/` for the whole graph, or `/<id>/<id>/…`), covering that space and everything below it; `authorize` allows an action on a resource at a path when an assignment of the principal covers the path and its role permits the action on the resource.

/// What a principal may do to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Read, Action::Create, Action::Update, Action::Delete];

    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "Read",
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Delete => "Delete",
        }
    }

    /// The action named `text`, ignoring case.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(text))
    }
}

/// A resource as role conditions see it: its RBAC type (`Space`, `Sensor`, `SpaceExtendedProperty`, …) and, for some, a category (an extended type's category).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource<'a> {
    pub kind: &'a str,
    pub category: Option<&'a str>,
}

impl Resource<'static> {
    /// A space, as the 2018 role definitions name it for reading (`@Resource.Type == 'Space' && @Resource.Category == 'WithoutSpecifiedRbacResourceTypes'`).
    pub fn space() -> Resource<'static> {
        Resource { kind: "Space", category: Some("WithoutSpecifiedRbacResourceTypes") }
    }
}

impl Resource<'_> {
    /// The value of `@Resource.<name>`.
    pub(crate) fn attribute(&self, name: &str) -> Option<String> {
        match name {
            "Type" => Some(self.kind.to_owned()),
            "Category" => self.category.map(str::to_owned),
            _ => None,
        }
    }
}

/// What kind of object an assignment gives its role to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectIdType {
    UserId,
    DeviceId,
    DomainName,
    TenantId,
    ServicePrincipalId,
    UserDefinedFunctionId,
}

impl ObjectIdType {
    pub const ALL: [ObjectIdType; 6] = [
        ObjectIdType::UserId,
        ObjectIdType::DeviceId,
        ObjectIdType::DomainName,
        ObjectIdType::TenantId,
        ObjectIdType::ServicePrincipalId,
        ObjectIdType::UserDefinedFunctionId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ObjectIdType::UserId => "UserId",
            ObjectIdType::DeviceId => "DeviceId",
            ObjectIdType::DomainName => "DomainName",
            ObjectIdType::TenantId => "TenantId",
            ObjectIdType::ServicePrincipalId => "ServicePrincipalId",
            ObjectIdType::UserDefinedFunctionId => "UserDefinedFunctionId",
        }
    }

    /// The type named `text`, ignoring case.
    pub fn parse(text: &str) -> Option<ObjectIdType> {
        ObjectIdType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(text))
    }
}

/// A role given to an object on a space path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub id: String,
    pub role_id: String,
    pub object_id: String,
    pub object_id_type: ObjectIdType,
    pub tenant_id: Option<String>,
    pub path: String,
}

/// Why an assignment is refused; `Display` is the message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("roleId '{0}' is not one of system/roles")]
    UnknownRole(String),
    #[error("objectId is empty")]
    EmptyObject,
    #[error("a DomainName objectId begins with '@' (such as @example.com), not '{0}'")]
    DomainWithoutAt(String),
    #[error("tenantId is required for objectIdType {0}")]
    TenantRequired(&'static str),
    #[error("tenantId is not allowed for objectIdType {0}")]
    TenantNotAllowed(&'static str),
    #[error("path '{0}' is not '/' or a space path such as /<id>/<id>")]
    BadPath(String),
}

impl Assignment {
    /// The rules of the 2018 service: a known role, an object, the tenant id where its type needs one (and none where it forbids one), a domain name beginning with `@`, and a path.
    pub fn check(&self) -> Result<(), AssignmentError> {
        if crate::Role::by_id(&self.role_id).is_none() {
            return Err(AssignmentError::UnknownRole(self.role_id.clone()));
        }
        if self.object_id.trim().is_empty() {
            return Err(AssignmentError::EmptyObject);
        }
        let kind = self.object_id_type;
        if kind == ObjectIdType::DomainName && !self.object_id.starts_with('@') {
            return Err(AssignmentError::DomainWithoutAt(self.object_id.clone()));
        }
        let tenant = self.tenant_id.as_deref().is_some_and(|t| !t.is_empty());
        match kind {
            ObjectIdType::UserId | ObjectIdType::ServicePrincipalId if !tenant => {
                return Err(AssignmentError::TenantRequired(kind.name()));
            }
            ObjectIdType::DeviceId | ObjectIdType::TenantId if tenant => {
                return Err(AssignmentError::TenantNotAllowed(kind.name()));
            }
            _ => {}
        }
        check_path(&self.path)
    }

    /// Whether the assignment's path covers `path`: it is `/`, or `path` is it or lies below it.
    pub fn covers(&self, path: &str) -> bool {
        let own = self.path.trim_end_matches('/');
        own.is_empty() || path == own || path.strip_prefix(own).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A space path: `/`, or `/` followed by ids separated by `/`, none empty.
pub fn check_path(path: &str) -> Result<(), AssignmentError> {
    let ok = path == "/"
        || path.strip_prefix('/').is_some_and(|rest| !rest.is_empty() && rest.split('/').all(|id| !id.is_empty()));
    if ok { Ok(()) } else { Err(AssignmentError::BadPath(path.to_owned())) }
}

/// Whether `assignments` (a principal's) allow `action` on `resource` at the space path `path`.
pub fn authorize<'a>(
    assignments: impl IntoIterator<Item = &'a Assignment>,
    action: Action,
    resource: &Resource<'_>,
    path: &str,
) -> bool {
    assignments.into_iter().any(|assignment| {
        assignment.covers(path)
            && crate::Role::by_id(&assignment.role_id).is_some_and(|role| role.permits(action, resource))
    })
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::{Action, Assignment, ObjectIdType, Resource, authorize};
    use crate::SPACE_ADMINISTRATOR;

    fn assignment(role: &str, kind: ObjectIdType, tenant: Option<&str>, path: &str) -> Assignment {
        Assignment {
            id: "a".into(),
            role_id: role.into(),
            object_id: if kind == ObjectIdType::DomainName { "@example.com".into() } else { "object".into() },
            object_id_type: kind,
            tenant_id: tenant.map(str::to_owned),
            path: path.into(),
        }
    }

    fn check(assignment: &Assignment, expect: Expect) {
        let shown = match assignment.check() {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.to_string(),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn assignments_follow_the_2018_rules() {
        use ObjectIdType::*;
        check(&assignment(SPACE_ADMINISTRATOR, UserDefinedFunctionId, None, "/b/f"), expect!["ok"]);
        check(
            &assignment(SPACE_ADMINISTRATOR, UserId, None, "/"),
            expect!["tenantId is required for objectIdType UserId"],
        );
        check(
            &assignment(SPACE_ADMINISTRATOR, DeviceId, Some("t"), "/"),
            expect!["tenantId is not allowed for objectIdType DeviceId"],
        );
        check(&assignment("nope", UserId, Some("t"), "/"), expect!["roleId 'nope' is not one of system/roles"]);
        check(
            &assignment(SPACE_ADMINISTRATOR, DomainName, None, "/b//f"),
            expect!["path '/b//f' is not '/' or a space path such as /<id>/<id>"],
        );
        let mut domain = assignment(SPACE_ADMINISTRATOR, DomainName, None, "/");
        domain.object_id = "example.com".into();
        check(&domain, expect!["a DomainName objectId begins with '@' (such as @example.com), not 'example.com'"]);
    }

    #[test]
    fn a_grant_covers_its_subtree_and_its_role_only() {
        let admin = assignment(SPACE_ADMINISTRATOR, ObjectIdType::UserDefinedFunctionId, None, "/b/f1");
        let sensor = Resource { kind: "Sensor", category: None };
        let cases = [("/b/f1", true), ("/b/f1/r1", true), ("/b/f10", false), ("/b", false), ("/c/f1/r1", false)];
        for (path, allowed) in cases {
            assert_eq!(authorize([&admin], Action::Update, &sensor, path), allowed, "{path}");
        }
        let root = assignment(SPACE_ADMINISTRATOR, ObjectIdType::UserDefinedFunctionId, None, "/");
        assert!(authorize([&root], Action::Delete, &sensor, "/anything/below"));
        // The User role reads spaces and sensors but writes nothing.
        let user = assignment("b1ffdb77-c635-4e7e-ad25-948237d85b30", ObjectIdType::UserDefinedFunctionId, None, "/b");
        assert!(authorize([&user], Action::Read, &sensor, "/b/f1"));
        assert!(!authorize([&user], Action::Update, &sensor, "/b/f1"));
        assert!(!authorize([], Action::Read, &Resource::space(), "/b"));
    }
}
