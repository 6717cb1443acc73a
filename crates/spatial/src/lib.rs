//! The 2018 object model over the twin graph: what the management face (`/management/api/v1.0/`) needs beyond twins and relationships, as pure data and rules.
//!
//! Layout: `state` owns a tenant's 2018 objects that are not twins (custom extended types, property keys, space resources, key stores, which ontologies are loaded) with their store records; `navigate` selects objects of the containment tree by the 2018 navigation parameters (`spaceId`, `traverse`, levels); `odata` parses and evaluates the OData subset of `$filter`/`$orderby`/`$top`/`$skip`; `properties` validates extended property values against their property keys.
//! No I/O, no clock: the server passes times and ids in, and persists the records this crate hands out.

pub mod navigate;
pub mod odata;
pub mod properties;
pub mod state;
