//! The host of a run (`TenantHost`): what a function reaches through the client library.
//! Every call reads the tenant under its read lock and is checked against the function's role assignments; what the function sets and sends is recorded for `apply`, and reads see the batch as it stood at the run (`Overlay`): its own values, what earlier runs of the batch set, and the values of the batch's messages up to its own, none of which the graph holds before the batch is written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use compute::sandbox::{self, Host, HostError, Metadata, ObjectType, Reading};
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::{Effect, Trigger, as_text};
use crate::data::{Tenant, TenantState};
use crate::management::objects::View;
use crate::management::{Includes, roleassignments};

/// A value written in a batch, in the order the batch's messages and runs wrote them.
pub(super) enum Write {
    /// A sensor value, a message's or a run's.
    Sensor { id: String, value: Value, timestamp: String },
    /// A space value; `null` cleared it.
    Space { id: String, name: String, value: Value, timestamp: String },
}

impl Write {
    /// The value the batch's `message`th message stores.
    pub(super) fn message(triggers: &[Trigger], message: usize) -> Write {
        let trigger = &triggers[message];
        Write::Sensor { id: trigger.sensor.clone(), value: json!(trigger.value), timestamp: trigger.timestamp.clone() }
    }
}

/// What the batch wrote before a run, which the graph does not show: the batch is written after its runs, so the graph holds the values from before it.
#[derive(Clone, Copy)]
pub(super) struct Overlay<'a> {
    /// The values the batch's messages up to the run's own and the runs before it wrote.
    pub(super) timeline: &'a [Write],
}

/// A value and when it was set.
type Known = (Value, String);

impl Overlay<'_> {
    /// The sensor's value as the batch last wrote it before the run, `None` when the graph's is right.
    fn sensor(&self, id: &str) -> Option<Known> {
        self.timeline.iter().rev().find_map(|write| match write {
            Write::Sensor { id: written, value, timestamp } if written == id => {
                Some((value.clone(), timestamp.clone()))
            }
            _ => None,
        })
    }

    /// The points the batch wrote before the run to a sensor's history (`name` `None`) or to the history of a space's value `name`: each value's time and text, in the order they were written (a cleared space value is no point).
    fn points(&self, id: &str, name: Option<&str>) -> Vec<(history::Timestamp, String)> {
        let point = |value: &Value, timestamp: &str| {
            let ts = crate::history::micros_of(timestamp).unwrap_or(history::Timestamp::from_micros(0));
            (ts, value.as_str().map_or_else(|| value.to_string(), str::to_owned))
        };
        self.timeline
            .iter()
            .filter_map(|write| match (write, name) {
                (Write::Sensor { id: written, value, timestamp }, None) if written == id => {
                    Some(point(value, timestamp))
                }
                (Write::Space { id: written, name: written_name, value, timestamp }, Some(name))
                    if written == id && written_name.eq_ignore_ascii_case(name) && !value.is_null() =>
                {
                    Some(point(value, timestamp))
                }
                _ => None,
            })
            .collect()
    }

    /// The spelling of a space's value `name` as the batch first set it.
    fn space_name(&self, id: &str, name: &str) -> Option<String> {
        self.timeline.iter().find_map(|write| match write {
            Write::Space { id: written, name: written_name, .. }
                if written == id && written_name.eq_ignore_ascii_case(name) =>
            {
                Some(written_name.clone())
            }
            _ => None,
        })
    }

    /// The space value at the run when an earlier run of the batch set or cleared it, `None` when the graph's is right.
    fn space(&self, id: &str, name: &str) -> Option<Option<Known>> {
        self.timeline.iter().rev().find_map(|write| match write {
            Write::Space { id: written, name: written_name, value, timestamp }
                if written == id && written_name.eq_ignore_ascii_case(name) =>
            {
                Some((!value.is_null()).then(|| (value.clone(), timestamp.clone())))
            }
            _ => None,
        })
    }
}

/// Adds the values a run that ended well set to the batch's timeline, for the runs after it to read.
pub(super) fn settle(timeline: &mut Vec<Write>, effects: &[Effect]) {
    let now = crate::data::now();
    for effect in effects {
        match effect {
            Effect::SensorValue { sensor, value, .. } => {
                timeline.push(Write::Sensor {
                    id: sensor.clone(),
                    value: json!(as_text(value)),
                    timestamp: now.clone(),
                });
            }
            Effect::SpaceValue { space, name, value } => {
                let value = if value.is_null() { Value::Null } else { json!(as_text(value)) };
                timeline.push(Write::Space { id: space.clone(), name: name.clone(), value, timestamp: now.clone() });
            }
            Effect::Notification { .. } => {}
        }
    }
}

/// What a function reaches: the tenant, read under its read lock for each call, and every call checked against the function's role assignments; what it sets and sends is recorded, and its own values are what it reads back within the run.
pub(super) struct TenantHost<'a> {
    tenant: &'a Arc<TenantState>,
    function_id: &'a str,
    overlay: Overlay<'a>,
    effects: Vec<Effect>,
    /// Bytes of values and payloads in `effects`.
    effect_bytes: usize,
}

/// Values set and notifications sent in one run, at most; more is refused with `Throttling` (the 2018 service throttled functions' calls too).
const EFFECTS_PER_RUN_MAX: usize = 100;
/// Bytes of one value a function sets; a larger value is refused, so the function sees the error instead of the message failing later.
const VALUE_BYTES_MAX: usize = 4 * 1024;
/// Bytes of one notification's payload.
const PAYLOAD_BYTES_MAX: usize = 32 * 1024;
/// Bytes of everything one run sets and sends.
const EFFECT_BYTES_MAX: usize = 256 * 1024;

/// The RBAC resource type of each object kind.
fn resource(kind: ObjectKind) -> access::Resource<'static> {
    match kind {
        ObjectKind::Space => access::Resource::space(),
        ObjectKind::Device => access::Resource { kind: "Device", category: None },
        ObjectKind::Sensor => access::Resource { kind: "Sensor", category: None },
        ObjectKind::User => access::Resource { kind: "User", category: None },
    }
}

impl<'a> TenantHost<'a> {
    pub(super) fn new(tenant: &'a Arc<TenantState>, function_id: &'a str, overlay: Overlay<'a>) -> TenantHost<'a> {
        TenantHost { tenant, function_id, overlay, effects: Vec::new(), effect_bytes: 0 }
    }

    /// What the run set and sent, in order.
    pub(super) fn into_effects(self) -> Vec<Effect> {
        self.effects
    }

    /// Runs `f` on the object `id` of `kind` once the function may do `action` to it there.
    fn with<T>(
        &self,
        kind: ObjectKind,
        id: &str,
        action: access::Action,
        f: impl FnOnce(&Tenant, &View<'_>, u32) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        self.tenant.read_all(|tenant| {
            let view = View::new(tenant);
            let slot = tenant
                .graph
                .slot(id)
                .filter(|&s| view.kinds.kind_at(s) == Some(kind))
                .ok_or(HostError::DataNotFound)?;
            if !self.allows(tenant, &view, action, slot, kind) {
                return Err(HostError::NotAuthorized);
            }
            f(tenant, &view, slot)
        })
    }

    /// Whether the function's role assignments let it do `action` to the object of `kind` at `slot`, where it is now.
    fn allows(&self, tenant: &Tenant, view: &View<'_>, action: access::Action, slot: u32, kind: ObjectKind) -> bool {
        let grants = grants(tenant, view, self.function_id);
        access::authorize(grants.iter(), action, &resource(kind), &view.path_text(slot, kind))
    }

    fn metadata(&self, kind: ObjectKind, id: &str) -> Result<Metadata, HostError> {
        self.with(kind, id, access::Action::Read, |tenant, view, slot| Ok(render(tenant, view, slot, kind)))
    }

    /// The objects of `kind` related to `id` (of `of`) that `related` finds, each the function may read.
    fn related(
        &self,
        of: ObjectKind,
        id: &str,
        kind: ObjectKind,
        related: impl FnOnce(&View<'_>, u32) -> Vec<u32>,
    ) -> Result<Vec<Metadata>, HostError> {
        self.with(of, id, access::Action::Read, |tenant, view, slot| {
            Ok(related(view, slot)
                .into_iter()
                .filter(|&s| self.allows(tenant, view, access::Action::Read, s, kind))
                .map(|s| render(tenant, view, s, kind))
                .collect())
        })
    }

    fn parent(&self, of: ObjectKind, id: &str, kind: ObjectKind) -> Result<Option<Metadata>, HostError> {
        let found = self.related(of, id, kind, |view, slot| {
            let parent = match (of, kind) {
                (ObjectKind::Sensor, ObjectKind::Device) => {
                    view.graph.parent_at(slot).filter(|&d| view.kinds.kind_at(d) == Some(ObjectKind::Device))
                }
                _ => view.space_of(slot, of),
            };
            parent.into_iter().collect()
        })?;
        Ok(found.into_iter().next())
    }

    fn extended_property(
        &self,
        kind: ObjectKind,
        id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.with(kind, id, access::Action::Read, |_, view, slot| {
            let properties = view.graph.twin_at(slot).and_then(|t| t.property("properties"));
            let found = properties.as_ref().and_then(Value::as_object).and_then(|map| {
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(key, value)| (key.clone(), value.clone()))
            });
            let (name, value) = found.ok_or(HostError::DataNotFound)?;
            Ok(sandbox::ExtendedProperty { name, value: as_text(&value) })
        })
    }

    /// The newest `HOST_POINTS_MAX` points of a series, newest first: the store's, and the points the batch wrote before the run (`written`, in the order they were written), which the store does not hold yet.
    fn history(
        &self,
        series: Result<history::SeriesId, history::HistoryError>,
        data_type: &str,
        written: Vec<(history::Timestamp, String)>,
    ) -> Result<Vec<Reading>, HostError> {
        let failed = |err: history::HistoryError| {
            tracing::warn!(function = %self.function_id, error = %err, "a function's history read failed");
            HostError::Invalid(format!("the history cannot be read: {err}"))
        };
        let series = series.map_err(failed)?;
        let limit = crate::history::HOST_POINTS_MAX;
        let stored = crate::history::recent(self.tenant.points(), &series, limit).map_err(failed)?;
        let mut stored = stored.into_iter().map(|point| (point.position.ts, point.value.text().to_owned())).peekable();
        // Newest first; of two points at one time the one written later comes first, as the store orders them.
        let mut written: Vec<_> = written.into_iter().rev().collect();
        written.sort_by_key(|point| std::cmp::Reverse(point.0));
        let mut written = written.into_iter().peekable();
        let mut readings = Vec::new();
        while readings.len() < limit {
            let from_batch = match (written.peek(), stored.peek()) {
                (Some(batch), Some(store)) => batch.0 >= store.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (ts, text) = if from_batch { written.next() } else { stored.next() }.expect("peeked");
            readings.push(Reading {
                data_type: data_type.to_owned(),
                value: json!(text),
                timestamp: crate::history::rfc3339(ts),
            });
        }
        Ok(readings)
    }

    /// Records what the function set or sent, within the limits of a run.
    fn push(&mut self, effect: Effect, bytes: usize, bytes_max: usize) -> Result<(), HostError> {
        if bytes > bytes_max {
            return Err(HostError::Invalid(format!("the value has {bytes} bytes; at most {bytes_max} are accepted")));
        }
        if self.effects.len() >= EFFECTS_PER_RUN_MAX || self.effect_bytes + bytes > EFFECT_BYTES_MAX {
            return Err(HostError::Throttled);
        }
        self.effect_bytes += bytes;
        self.effects.push(effect);
        Ok(())
    }

    /// The latest value this run set for a sensor or a space value, if it set one.
    fn pending(&self, sensor: Option<&str>, space: Option<(&str, &str)>) -> Option<Value> {
        self.effects.iter().rev().find_map(|effect| match (effect, sensor, space) {
            (Effect::SensorValue { sensor: s, value, .. }, Some(wanted), _) if s == wanted => Some(value.clone()),
            (Effect::SpaceValue { space: s, name, value }, _, Some((wanted, wanted_name)))
                if s == wanted && name.eq_ignore_ascii_case(wanted_name) =>
            {
                Some(value.clone())
            }
            _ => None,
        })
    }
}

/// The objects functions read and the functions' role assignments, kept per tenant until its shape or its 2018 state changes: rendering an object parses its twin's document, finding where an assignment's space is now walks the tree, and the runs of a building read the same few objects again and again.
/// What is kept holds no values (a sensor's `value`, a space's `values`), which value writes change without moving the shape.
#[derive(Default)]
pub(crate) struct Rendered {
    inner: Mutex<KeptRendered>,
}

#[derive(Default)]
struct KeptRendered {
    /// The tenant's shape and 2018 state generation the objects were rendered in.
    shape: (u64, u64),
    by_slot: HashMap<(u32, ObjectKind), Metadata>,
    /// Each function's role assignments at their spaces' current paths (`roleassignments::current_assignments`), by function id.
    grants: HashMap<String, Arc<[access::Assignment]>>,
}

impl KeptRendered {
    /// The kept objects and grants, forgotten first when they were made in another shape than `shape` or fill the cache.
    fn current(&mut self, shape: (u64, u64)) -> &mut KeptRendered {
        if self.shape != shape || self.by_slot.len() + self.grants.len() >= RENDERED_MAX {
            *self = KeptRendered { shape, ..KeptRendered::default() };
        }
        self
    }
}

/// The role assignments of the function `function_id` as `access::authorize` checks them, kept in `Rendered`.
fn grants(tenant: &Tenant, view: &View<'_>, function_id: &str) -> Arc<[access::Assignment]> {
    kept(
        tenant,
        |kept| kept.grants.get(function_id).cloned(),
        || roleassignments::current_assignments(view, function_id).into(),
        |kept, grants| {
            kept.grants.insert(function_id.to_owned(), grants);
        },
    )
}

/// Objects and grants `Rendered` keeps at most; past it, it starts over (an object takes about a kilobyte).
const RENDERED_MAX: usize = 1 << 16;

/// An object as functions see it: its 2018 shape with types and extended properties.
fn render(tenant: &Tenant, view: &View<'_>, slot: u32, kind: ObjectKind) -> Metadata {
    kept(
        tenant,
        |kept| kept.by_slot.get(&(slot, kind)).cloned(),
        || {
            Arc::new(match view.render(slot, kind, &Includes::of(&["types", "properties"])) {
                Value::Object(map) => map,
                _ => Map::new(),
            })
        },
        |kept, object| {
            kept.by_slot.insert((slot, kind), object);
        },
    )
}

/// What `get` finds kept in the tenant's `Rendered` for its current shape, or else what `make` makes, kept by `put`; made outside the lock, so runs on other workers are not held up.
fn kept<T: Clone>(
    tenant: &Tenant,
    get: impl FnOnce(&KeptRendered) -> Option<T>,
    make: impl FnOnce() -> T,
    put: impl FnOnce(&mut KeptRendered, T),
) -> T {
    let shape = (tenant.shape, tenant.spatial.generation());
    let rendered = &tenant.rendered.inner;
    {
        let kept = rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.shape == shape
            && let Some(found) = get(&kept)
        {
            return found;
        }
    }
    let made = make();
    let mut kept = rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    put(kept.current(shape), made.clone());
    made
}

impl Host for TenantHost<'_> {
    fn get_sensor_metadata(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Sensor, sensor_id)
    }

    fn get_space_metadata(&mut self, space_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Space, space_id)
    }

    fn get_device_metadata(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Device, device_id)
    }

    fn get_sensor_value(&mut self, sensor_id: &str, data_type: &str) -> Result<Option<Reading>, HostError> {
        let now = crate::data::now();
        let stored = self.with(ObjectKind::Sensor, sensor_id, access::Action::Read, |_, view, slot| {
            let twin = view.graph.twin_at(slot);
            let kind = twin.and_then(|t| t.property("dataType")).and_then(|v| v.as_str().map(str::to_owned));
            let value = twin.and_then(|t| t.property("value"));
            Ok((kind, value))
        })?;
        let data_type = stored.0.unwrap_or_else(|| data_type.to_owned());
        if let Some(value) = self.pending(Some(sensor_id), None) {
            return Ok(Some(Reading { data_type, value: json!(as_text(&value)), timestamp: now }));
        }
        if let Some((value, timestamp)) = self.overlay.sensor(sensor_id) {
            return Ok(Some(Reading { data_type, value, timestamp }));
        }
        Ok(stored.1.map(|v| Reading {
            data_type,
            value: v.get("value").cloned().unwrap_or(Value::Null),
            timestamp: v.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }))
    }

    fn get_space_value(&mut self, space_id: &str, value_name: &str) -> Result<Option<Reading>, HostError> {
        let stored = self.with(ObjectKind::Space, space_id, access::Action::Read, |_, view, slot| {
            let values = view.graph.twin_at(slot).and_then(|t| t.property("values"));
            Ok(values.and_then(|v| {
                v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(value_name)).map(|(_, v)| v.clone())
            }))
        })?;
        if let Some(value) = self.pending(None, Some((space_id, value_name))) {
            if value.is_null() {
                return Ok(None);
            }
            return Ok(Some(Reading {
                data_type: value_name.to_owned(),
                value: json!(as_text(&value)),
                timestamp: crate::data::now(),
            }));
        }
        if let Some(known) = self.overlay.space(space_id, value_name) {
            return Ok(known.map(|(value, timestamp)| Reading { data_type: value_name.to_owned(), value, timestamp }));
        }
        Ok(stored.map(|v| Reading {
            data_type: value_name.to_owned(),
            value: v.get("value").cloned().unwrap_or(Value::Null),
            timestamp: v.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }))
    }

    fn get_sensor_history_values(&mut self, sensor_id: &str, data_type: &str) -> Result<Vec<Reading>, HostError> {
        let kind = self.with(ObjectKind::Sensor, sensor_id, access::Action::Read, |_, view, slot| {
            let twin = view.graph.twin_at(slot);
            Ok(twin.and_then(|t| t.property("dataType")).and_then(|v| v.as_str().map(str::to_owned)))
        })?;
        let data_type = kind.unwrap_or_else(|| data_type.to_owned());
        self.history(history::SeriesId::sensor(sensor_id), &data_type, self.overlay.points(sensor_id, None))
    }

    fn get_space_history_values(&mut self, space_id: &str, value_name: &str) -> Result<Vec<Reading>, HostError> {
        // The series is named by the spelling the value was first set with, as the twin keeps it.
        let name = self.with(ObjectKind::Space, space_id, access::Action::Read, |_, view, slot| {
            let values = view.graph.twin_at(slot).and_then(|t| t.property("values"));
            Ok(values.and_then(|v| v.as_object()?.keys().find(|k| k.eq_ignore_ascii_case(value_name)).cloned()))
        })?;
        // A value the batch set first has no name in the graph yet.
        let written = self.overlay.points(space_id, Some(name.as_deref().unwrap_or(value_name)));
        let Some(name) = name.or_else(|| self.overlay.space_name(space_id, value_name)) else { return Ok(Vec::new()) };
        self.history(history::SeriesId::space_value(space_id, &name), &name, written)
    }

    fn get_space_child_spaces(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Space, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Space)
        })
    }

    fn get_space_child_sensors(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Sensor, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Sensor)
        })
    }

    fn get_space_child_devices(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Device, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Device)
        })
    }

    fn get_device_child_sensors(&mut self, device_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Device, device_id, ObjectKind::Sensor, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Sensor)
        })
    }

    fn get_space_parent_space(&mut self, space_id: &str) -> Result<Option<Metadata>, HostError> {
        self.parent(ObjectKind::Space, space_id, ObjectKind::Space)
    }

    fn get_sensor_parent_space(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Sensor, sensor_id, ObjectKind::Space)?.ok_or(HostError::DataNotFound)
    }

    fn get_device_parent_space(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Device, device_id, ObjectKind::Space)?.ok_or(HostError::DataNotFound)
    }

    fn get_sensor_parent_device(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Sensor, sensor_id, ObjectKind::Device)?.ok_or(HostError::DataNotFound)
    }

    fn get_space_extended_property(
        &mut self,
        space_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Space, space_id, name)
    }

    fn get_sensor_extended_property(
        &mut self,
        sensor_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Sensor, sensor_id, name)
    }

    fn get_device_extended_property(
        &mut self,
        device_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Device, device_id, name)
    }

    fn set_sensor_value(&mut self, sensor_id: &str, data_type: &str, value: Value) -> Result<(), HostError> {
        self.with(ObjectKind::Sensor, sensor_id, access::Action::Update, |_, _, _| Ok(()))?;
        let bytes = as_text(&value).len();
        self.push(
            Effect::SensorValue { sensor: sensor_id.to_owned(), data_type: data_type.to_owned(), value },
            bytes,
            VALUE_BYTES_MAX,
        )
    }

    fn set_space_value(&mut self, space_id: &str, value_name: &str, value: Value) -> Result<(), HostError> {
        if value_name.is_empty() || value_name.chars().count() > 64 {
            return Err(HostError::Invalid("a space value's name has 1 to 64 characters".to_owned()));
        }
        self.with(ObjectKind::Space, space_id, access::Action::Update, |_, _, _| Ok(()))?;
        let bytes = as_text(&value).len();
        self.push(
            Effect::SpaceValue { space: space_id.to_owned(), name: value_name.to_owned(), value },
            bytes,
            VALUE_BYTES_MAX,
        )
    }

    fn send_notification(&mut self, object_id: &str, object_type: ObjectType, payload: &str) -> Result<(), HostError> {
        let kind = match object_type {
            ObjectType::Space => ObjectKind::Space,
            ObjectType::Device => ObjectKind::Device,
            ObjectType::Sensor => ObjectKind::Sensor,
        };
        self.with(kind, object_id, access::Action::Read, |_, _, _| Ok(()))?;
        let bytes = payload.len();
        let effect = Effect::Notification { object_id: object_id.to_owned(), object_type, payload: payload.to_owned() };
        self.push(effect, bytes, PAYLOAD_BYTES_MAX)
    }
}
