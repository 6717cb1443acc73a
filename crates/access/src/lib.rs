//! Who may do what where: the nine roles of the 2018 service with their permissions, role assignments (a role given to an object — a user, a device, a domain, a tenant, a service principal or a user-defined function — on a space path, covering the subtree below it), and `authorize`, which answers whether assignments allow an action on a resource at a path.
//!
//! Layout: `condition` parses and evaluates the condition language of role permissions (`@Resource.Type Any_of {'Device', 'Sensor'} || …`); `roles` holds the role table; `assignment` the assignment's rules and the decision.
//! Pure: no I/O, no clock; the server stores assignments and asks.

mod assignment;
mod condition;
mod roles;

pub use assignment::{Action, Assignment, AssignmentError, ObjectIdType, Resource, authorize, check_path};
pub use condition::{Condition, ConditionError};
pub use roles::{Permission, ROLES, Role, SPACE_ADMINISTRATOR};
