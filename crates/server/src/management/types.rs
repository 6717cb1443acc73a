//! `types` and `ontologies` of the 2018 management face: the system extended types of `ontology::catalogue()` as this tenant sees them, the tenant's custom types on its spaces, and which ontologies the tenant has loaded.
//!
//! A type is rendered as `ExtendedTypeRetrieve`: `{id, category, name, friendlyName, logicalOrder, disabled, spaceId}` (`spaceId` is null for a system type), with `description`, `ontologies`, `space` and `spacePaths` when `includes` asks for them.
//! `disabled` is what this tenant sees: a system type follows the tenant's loaded ontologies and its own settings (`OntologyState::is_disabled`), a custom type its own flag.
//! Writes go through `spatial::state::Spatial`, which owns the rules (names, uniqueness, ontology switches) and hands back the records to persist; this file checks the request and the graph (the space exists, no twin still uses a type) before anything changes.
//! It does not decide whether an object may use a type (`Spatial::usable_type` does, for the modules that create objects), and it checks no permissions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use graph::{ModelMatch, Precondition, TenantGraph};
use ontology::{Category, ExtendedType, ObjectKind, Ontology, OntologyState, TypeId, catalogue};
use serde_json::{Value, json};
use spatial::navigate::TreeFilter;
use spatial::odata::QueryOptions;
use spatial::state::{CustomType, Spatial};

use super::{Body, Includes, MgmtError, Params};
use crate::data::{Tenant, Written};
use crate::router::AppState;

/// What `includes` may ask of a type.
const TYPE_INCLUDES: [&str; 4] = ["description", "ontologies", "space", "fullpath"];

/// What `includes` may ask of an ontology.
const ONTOLOGY_INCLUDES: [&str; 1] = ["types"];

/// The `types` and `ontologies` routes, relative to the face's base.
pub(crate) fn routes() -> Router<AppState> {
    let router = super::route(Router::new(), "/types", get(list_types).post(create_type));
    let router = super::route(router, "/types/{id}", get(get_type).patch(update_type).delete(delete_type));
    let router = super::route(router, "/ontologies", get(list_ontologies));
    super::route(router, "/ontologies/{id}", get(get_ontology).patch(update_ontology))
}

/// `GET types?ids&categories&names&system&disabled&includes` with the tree parameters and OData options.
///
/// The tree parameters (`spaceId`, `traverse`, levels) select spaces, and keep the custom types defined on them.
/// System types are kept too whenever the selection holds a space: they are defined on no space but visible on every one, so `types?spaceId=X` answers with the custom types defined on X and every system type (`system=false` leaves the system types out).
/// This is the reading of the 2018 parameter ("filter on objects based on their location in the topology") that keeps `types?spaceId=X` useful for the samples, which look there for a type before creating it; a selection of no space keeps no type at all.
async fn list_types(State(state): State<AppState>, params: Params) -> Result<Json<Value>, MgmtError> {
    let includes = params.includes(&TYPE_INCLUDES)?;
    let filter = TypeFilter::from_params(&params)?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let results_max = state.limits.management_results_max.get();
    let types = state.data.tenant().read_all(|t| -> Result<Vec<Value>, MgmtError> {
        let view = super::objects::View::new(t);
        let spaces = super::objects::spaces_selected(&view, &TreeFilter::from_pairs(&params.0)?)?;
        let system = catalogue()
            .types()
            .iter()
            .map(AnyType::System)
            .filter(|_| spaces.as_ref().is_none_or(|spaces| !spaces.is_empty()));
        let custom = t
            .spatial
            .custom_types()
            .filter(|ty| spaces.as_ref().is_none_or(|spaces| spaces.contains(ty.space_id.as_str())))
            .map(AnyType::Custom);
        let ontologies = t.spatial.ontologies();
        Ok(system.chain(custom).filter(|ty| filter.keeps(*ty, ontologies)).map(|ty| render(ty, t, &includes)).collect())
    })?;
    let types = options.apply(types);
    if types.len() > results_max {
        return Err(MgmtError::invalid(format!(
            "the request selects {} types, more than the limit of {results_max}; narrow it with categories, names, ids, system or $top",
            types.len()
        )));
    }
    Ok(Json(Value::Array(types)))
}

/// `GET types/{id}?includes`.
async fn get_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, MgmtError> {
    let includes = params.includes(&TYPE_INCLUDES)?;
    state.data.tenant().read_all(|t| Ok(Json(render(find_type(&t.spatial, &id)?, t, &includes))))
}

/// `POST types`: a custom type on a space, answered with 201 and its integer id.
///
/// The body is `ExtendedTypeCreate`: `category` and `spaceId` are required, and so is `name` (3 to 50 letters, digits or underscores, unique within the category on that space).
/// The id is a JSON number, not a string as for the objects with GUID ids: the 2018 API declares this create's answer an `Integer` (as for property keys), and a type's id is an integer everywhere else.
async fn create_type(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let category = body.text("category")?.ok_or_else(|| {
        MgmtError::invalid_member(
            "category",
            "`category` is required: the category of the type, such as SensorDataType",
        )
    })?;
    let category = parse_category("category", category)?;
    let space_id = body.id("spaceId")?.ok_or_else(|| {
        MgmtError::invalid_member("spaceId", "`spaceId` is required: the space whose subtree may use the type")
    })?;
    let name = body.text("name")?.ok_or_else(|| {
        MgmtError::invalid_member("name", "`name` is required: 3 to 50 letters, digits or underscores")
    })?;
    let ty = CustomType {
        // `Spatial::create_type` numbers the type.
        id: 0,
        category,
        name: name.to_owned(),
        friendly_name: body.bounded("friendlyName", 0, FRIENDLY_NAME_CHARS_MAX)?.map(str::to_owned),
        description: body.bounded("description", 0, DESCRIPTION_CHARS_MAX)?.map(str::to_owned),
        disabled: body.boolean("disabled")?.unwrap_or(false),
        logical_order: logical_order(&body)?.unwrap_or(0),
        space_id: space_id.to_owned(),
    };
    let id = state
        .data
        .tenant()
        .write_all(&state.data, |t: &mut Tenant| -> Result<_, MgmtError> {
            super::object_slot(&t.graph, ObjectKind::Space, &ty.space_id)?;
            let (id, records) = t.spatial.create_type(ty)?;
            Ok((id, Written::records(records)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!(id))).into_response())
}

/// `PATCH types/{id}`: a custom type's name, friendly name, description, disabled flag and logical order; of a system type, only `disabled`.
///
/// Renaming a custom type renames it in the twins that use it (their `type`, `dataType`, … property), in the same write, so a twin's type name and id never disagree.
async fn update_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let patch = TypePatch::from_body(&body)?;
    state
        .data
        .tenant()
        .write_all(&state.data, |t: &mut Tenant| -> Result<_, MgmtError> {
            let written = match find_type(&t.spatial, &id)? {
                AnyType::System(ty) => {
                    if let Some(member) = patch.custom_only_member() {
                        return Err(MgmtError::invalid_member(
                            member,
                            format!(
                                "type {id} is a system type ({} '{}'): only `disabled` can be changed, not `{member}`",
                                ty.category(),
                                ty.name()
                            ),
                        ));
                    }
                    let records = patch.disabled.map(|d| t.spatial.set_system_type_disabled(ty, d)).unwrap_or_default();
                    Written::records(records)
                }
                AnyType::Custom(current) => {
                    let old_name = current.name.clone();
                    let updated = patch.applied_to(current)?;
                    let users = if updated.name == old_name { Vec::new() } else { users_of(&t.graph, &updated) };
                    // The state checks the new name before anything changes; the twins are renamed only once it holds.
                    let records = t.spatial.update_type(updated.clone())?;
                    let mut written = Written::records(records);
                    written.and(Written::changes(rename_in_twins(&mut t.graph, &updated, &users)?));
                    written
                }
            };
            Ok(((), written))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE types/{id}`: a custom type that no twin uses; system types cannot be deleted (they can be disabled).
async fn delete_type(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    state
        .data
        .tenant()
        .write_all(&state.data, |t: &mut Tenant| -> Result<_, MgmtError> {
            let ty = match find_type(&t.spatial, &id)? {
                AnyType::System(ty) => {
                    return Err(MgmtError::invalid(format!(
                        "type {id} is a system type ({} '{}') and cannot be deleted; disable it with PATCH types/{id} {{\"disabled\": true}}",
                        ty.category(),
                        ty.name()
                    )));
                }
                AnyType::Custom(ty) => ty,
            };
            let users = users_of(&t.graph, ty);
            if let Some(kind) = ty.category.twin_properties().map(|(kind, _, _)| kind)
                && !users.is_empty()
            {
                let count = users.len();
                let what = format!("{}{}", super::kind_name(kind), if count == 1 { "" } else { "s" });
                return Err(MgmtError::conflict(format!(
                    "type {id} ({} '{}') is used by {count} {what}; give them another type before deleting it",
                    ty.category, ty.name
                )));
            }
            let number = ty.id;
            let records = t.spatial.delete_type(number)?;
            Ok(((), Written::records(records)))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET ontologies?names&loaded&includes` with the OData options.
async fn list_ontologies(State(state): State<AppState>, params: Params) -> Result<Json<Value>, MgmtError> {
    let includes = params.includes(&ONTOLOGY_INCLUDES)?;
    let names = params.list("names");
    let loaded = params.flag("loaded")?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let ontologies = state.data.tenant().read_all(|t| {
        let state = t.spatial.ontologies();
        Ontology::ALL
            .into_iter()
            .filter(|o| names.is_empty() || names.iter().any(|n| n.eq_ignore_ascii_case(o.name())))
            .filter(|o| loaded.is_none_or(|loaded| state.is_loaded(*o) == loaded))
            .map(|o| render_ontology(o, t, &includes))
            .collect()
    });
    Ok(Json(Value::Array(options.apply(ontologies))))
}

/// `GET ontologies/{id}?includes`.
async fn get_ontology(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, MgmtError> {
    let includes = params.includes(&ONTOLOGY_INCLUDES)?;
    let ontology = find_ontology(&id)?;
    Ok(Json(state.data.tenant().read_all(|t| render_ontology(ontology, t, &includes))))
}

/// `PATCH ontologies/{id}` with `{"loaded": true|false}`: loading enables the ontology's types, unloading disables those no other loaded ontology holds (`OntologyState::set_loaded`); `Required` stays loaded.
async fn update_ontology(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let ontology = find_ontology(&id)?;
    let loaded = body.boolean("loaded")?.ok_or_else(|| {
        MgmtError::invalid_member("loaded", "`loaded` is required: true loads the ontology, false unloads it")
    })?;
    state
        .data
        .tenant()
        .write_all(&state.data, |t: &mut Tenant| -> Result<_, MgmtError> {
            let records = t.spatial.set_ontology_loaded(ontology, loaded)?;
            Ok(((), Written::records(records)))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The longest friendly name of a type, in characters (`ExtendedTypeCreate`).
const FRIENDLY_NAME_CHARS_MAX: usize = 64;

/// The longest description of a type, in characters (`ExtendedTypeCreate`).
const DESCRIPTION_CHARS_MAX: usize = 4000;

/// A type of either origin, as the routes read it.
#[derive(Clone, Copy)]
enum AnyType<'a> {
    System(&'static ExtendedType),
    Custom(&'a CustomType),
}

impl<'a> AnyType<'a> {
    fn id(self) -> u32 {
        match self {
            AnyType::System(ty) => ty.id().get(),
            AnyType::Custom(ty) => ty.id,
        }
    }

    fn category(self) -> Category {
        match self {
            AnyType::System(ty) => ty.category(),
            AnyType::Custom(ty) => ty.category,
        }
    }

    fn name(self) -> &'a str {
        match self {
            AnyType::System(ty) => ty.name(),
            AnyType::Custom(ty) => &ty.name,
        }
    }

    fn is_system(self) -> bool {
        matches!(self, AnyType::System(_))
    }

    fn disabled(self, ontologies: &OntologyState) -> bool {
        match self {
            AnyType::System(ty) => ontologies.is_disabled(ty),
            AnyType::Custom(ty) => ty.disabled,
        }
    }
}

/// The type filters of `GET types` other than the tree parameters; an empty list keeps everything.
struct TypeFilter {
    ids: Vec<u32>,
    categories: Vec<Category>,
    names: Vec<String>,
    system: Option<bool>,
    disabled: Option<bool>,
}

impl TypeFilter {
    fn from_params(params: &Params) -> Result<TypeFilter, MgmtError> {
        let ids = params
            .list("ids")
            .iter()
            .map(|item| {
                item.parse().map_err(|_| {
                    MgmtError::invalid_member("ids", format!("`ids` has `{item}`; the ids of types are integers"))
                })
            })
            .collect::<Result<_, _>>()?;
        let categories = params
            .list("categories")
            .iter()
            .map(|item| parse_category("categories", item))
            .collect::<Result<_, _>>()?;
        Ok(TypeFilter {
            ids,
            categories,
            names: params.list("names"),
            system: params.flag("system")?,
            disabled: params.flag("disabled")?,
        })
    }

    fn keeps(&self, ty: AnyType<'_>, ontologies: &OntologyState) -> bool {
        (self.ids.is_empty() || self.ids.contains(&ty.id()))
            && (self.categories.is_empty() || self.categories.contains(&ty.category()))
            && (self.names.is_empty() || self.names.iter().any(|n| n.eq_ignore_ascii_case(ty.name())))
            && self.system.is_none_or(|system| ty.is_system() == system)
            && self.disabled.is_none_or(|disabled| ty.disabled(ontologies) == disabled)
    }
}

/// The members of a `PATCH types/{id}` body (`ExtendedTypeUpdate`); `None` leaves a member as it is, and `Some(None)` clears a friendly name or description (`null`).
struct TypePatch {
    name: Option<String>,
    friendly_name: Option<Option<String>>,
    description: Option<Option<String>>,
    disabled: Option<bool>,
    logical_order: Option<u32>,
    space_id: Option<String>,
}

impl TypePatch {
    fn from_body(body: &Body) -> Result<TypePatch, MgmtError> {
        let clearable = |name: &str, max: usize| -> Result<Option<Option<String>>, MgmtError> {
            Ok(if body.has(name) { Some(body.bounded(name, 0, max)?.map(str::to_owned)) } else { None })
        };
        Ok(TypePatch {
            name: body.text("name")?.map(str::to_owned),
            friendly_name: clearable("friendlyName", FRIENDLY_NAME_CHARS_MAX)?,
            description: clearable("description", DESCRIPTION_CHARS_MAX)?,
            disabled: body.boolean("disabled")?,
            logical_order: logical_order(body)?,
            space_id: body.id("spaceId")?.map(str::to_owned),
        })
    }

    /// The first member with a value that only a custom type can take; `null`s are no change (generated clients send every member).
    fn custom_only_member(&self) -> Option<&'static str> {
        [
            ("name", self.name.is_some()),
            ("friendlyName", matches!(self.friendly_name, Some(Some(_)))),
            ("description", matches!(self.description, Some(Some(_)))),
            ("logicalOrder", self.logical_order.is_some()),
            ("spaceId", self.space_id.is_some()),
        ]
        .into_iter()
        .find_map(|(member, given)| given.then_some(member))
    }

    /// The custom type as the patch leaves it; a type stays on the space it was created on.
    fn applied_to(&self, current: &CustomType) -> Result<CustomType, MgmtError> {
        if let Some(space_id) = &self.space_id
            && *space_id != current.space_id
        {
            return Err(MgmtError::invalid_member(
                "spaceId",
                format!(
                    "type {} stays on space '{}', where it was created; create a type on space '{space_id}' instead",
                    current.id, current.space_id
                ),
            ));
        }
        let mut ty = current.clone();
        if let Some(name) = &self.name {
            ty.name = name.clone();
        }
        if let Some(friendly_name) = &self.friendly_name {
            ty.friendly_name = friendly_name.clone();
        }
        if let Some(description) = &self.description {
            ty.description = description.clone();
        }
        if let Some(disabled) = self.disabled {
            ty.disabled = disabled;
        }
        if let Some(logical_order) = self.logical_order {
            ty.logical_order = logical_order;
        }
        Ok(ty)
    }
}

/// The type named by a route's `{id}`: a system type of the catalogue or a custom type of the tenant; 404 otherwise (also for an id that is no integer).
fn find_type<'a>(spatial: &'a Spatial, id: &str) -> Result<AnyType<'a>, MgmtError> {
    let not_found = || MgmtError::not_found("type", id);
    let number: u32 = id.trim().parse().map_err(|_| not_found())?;
    if let Some(ty) = catalogue().by_id(TypeId::new(number)) {
        return Ok(AnyType::System(ty));
    }
    spatial.custom_type(number).map(AnyType::Custom).ok_or_else(not_found)
}

/// The ontology named by a route's `{id}` (1 to 5); 404 otherwise.
fn find_ontology(id: &str) -> Result<Ontology, MgmtError> {
    id.trim().parse().ok().and_then(Ontology::from_id).ok_or_else(|| MgmtError::not_found("ontology", id))
}

/// A category named in `member`, ignoring case; an unknown one is refused with the list of categories.
fn parse_category(member: &str, text: &str) -> Result<Category, MgmtError> {
    Category::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
        MgmtError::invalid_member(member, format!("`{member}` has `{text}`; the categories are {}", names.join(", ")))
    })
}

/// `logicalOrder`: an integer from 0.
fn logical_order(body: &Body) -> Result<Option<u32>, MgmtError> {
    body.integer("logicalOrder")?
        .map(|n| {
            u32::try_from(n).map_err(|_| {
                MgmtError::invalid_member("logicalOrder", format!("`logicalOrder` is {n}; it takes an integer from 0"))
            })
        })
        .transpose()
}

/// A type as `ExtendedTypeRetrieve`, with the sections `includes` asks for.
fn render(ty: AnyType<'_>, tenant: &Tenant, includes: &Includes) -> Value {
    let ontologies = tenant.spatial.ontologies();
    let mut out = match ty {
        AnyType::System(ty) => json!({
            "id": ty.id().get(),
            "category": ty.category().name(),
            "name": ty.name(),
            "friendlyName": ty.friendly_name(),
            "logicalOrder": ty.logical_order(),
            "disabled": ontologies.is_disabled(ty),
            "spaceId": null,
        }),
        AnyType::Custom(ty) => json!({
            "id": ty.id,
            "category": ty.category.name(),
            "name": ty.name,
            "friendlyName": ty.friendly_name,
            "logicalOrder": ty.logical_order,
            "disabled": ty.disabled,
            "spaceId": ty.space_id,
        }),
    };
    if includes.has("description") {
        out["description"] = match ty {
            // The catalogue has no descriptions; the friendly name is what it says of a type.
            AnyType::System(_) => Value::Null,
            AnyType::Custom(ty) => json!(ty.description),
        };
    }
    if includes.has("ontologies") {
        // `OntologyRetrieve` objects, as the 2018 model declares; a custom type belongs to none.
        out["ontologies"] = match ty {
            AnyType::System(ty) => ty.ontologies().iter().map(|o| ontology_json(o, ontologies)).collect(),
            AnyType::Custom(_) => json!([]),
        };
    }
    let space = match ty {
        AnyType::System(_) => None,
        AnyType::Custom(ty) => tenant.graph.slot(&ty.space_id),
    };
    if includes.has("space") {
        out["space"] = space.map_or(Value::Null, |slot| {
            super::objects::View::new(tenant).render(slot, ObjectKind::Space, &Includes::default())
        });
    }
    if includes.has("fullpath") {
        out["spacePaths"] = match space {
            Some(slot) => json!([format!("/{}", super::space_path(&tenant.graph, slot).join("/"))]),
            None => json!([]),
        };
    }
    out
}

/// An ontology as `OntologyRetrieve`, with its types when `includes=types`.
fn render_ontology(ontology: Ontology, tenant: &Tenant, includes: &Includes) -> Value {
    let mut out = ontology_json(ontology, tenant.spatial.ontologies());
    if includes.has("types") {
        let plain = Includes::default();
        out["types"] = catalogue().ontology(ontology).map(|ty| render(AnyType::System(ty), tenant, &plain)).collect();
    }
    out
}

fn ontology_json(ontology: Ontology, state: &OntologyState) -> Value {
    json!({
        "id": ontology.id(),
        "name": ontology.name(),
        "loaded": state.is_loaded(ontology),
        "description": ontology.description(),
    })
}

/// The ids of the twins that hold `ty` in the property of its category (a space's `typeId`, a sensor's `dataTypeId`, …); none for blob categories, whose objects are not twins.
fn users_of(graph: &TenantGraph, ty: &CustomType) -> Vec<String> {
    let Some((kind, _, id_property)) = ty.category.twin_properties() else { return Vec::new() };
    let mut users: Vec<String> = graph
        .slots_of_model(kind.model(), ModelMatch::SubtypesAndLaterVersions)
        .into_iter()
        .filter_map(|slot| graph.twin_at(slot))
        .filter(|twin| twin.property(id_property).as_ref().and_then(type_id_of) == Some(ty.id))
        .map(|twin| twin.id.clone())
        .collect();
    users.sort_unstable();
    users
}

/// A type id as a twin holds it: an integer (or, leniently, an integer in a string).
fn type_id_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Writes the type's new name into the name property of each twin in `users`.
fn rename_in_twins(
    graph: &mut TenantGraph,
    ty: &CustomType,
    users: &[String],
) -> Result<Vec<graph::Change>, MgmtError> {
    let Some((_, name_property, _)) = ty.category.twin_properties() else { return Ok(Vec::new()) };
    let now = crate::data::now();
    let patch = json!([{ "op": "add", "path": format!("/{name_property}"), "value": ty.name }]);
    let mut changes = Vec::new();
    for id in users {
        let (_, more) = graph
            .patch_twin(id, &patch, &Precondition::None, &now)
            .map_err(|err| MgmtError::from(crate::error::ApiError::from(err)))?;
        changes.extend(more);
    }
    Ok(changes)
}
