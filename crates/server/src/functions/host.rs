//! The host of a run (`TenantHost`): what a function reaches through the client library.
//! Every call reads the tenant under its read lock and is checked against the function's role assignments; what the function sets and sends is recorded for `apply`, and reads see the batch as it stood at the run (`Overlay`): its own values, what earlier runs of the batch set, and the values of the batch's messages up to its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use compute::sandbox::{self, Host, HostError, Metadata, ObjectType, Reading};
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::{Done, Effect, Trigger, as_text};
use crate::data::{Tenant, TenantState};
use crate::management::objects::View;
use crate::management::{Includes, roleassignments};

/// A value written in a batch, in the order the batch's messages and runs wrote them.
pub(super) enum Write {
    /// A sensor value; `message` is the batch's message that stored it, `None` for a run's.
    Sensor { id: String, value: Value, timestamp: String, message: Option<usize> },
    /// A space value; `null` cleared it.
    Space { id: String, name: String, value: Value, timestamp: String },
}

impl Write {
    /// The value the batch's `message`th message stored.
    pub(super) fn message(triggers: &[Trigger], message: usize) -> Write {
        let trigger = &triggers[message];
        Write::Sensor {
            id: trigger.sensor.clone(),
            value: json!(trigger.value),
            timestamp: trigger.timestamp.clone(),
            message: Some(message),
        }
    }
}

/// What the batch knows of values at the point of a run, which the graph does not show: it already holds every message's value, and not yet what the runs set.
#[derive(Clone, Copy)]
pub(super) struct Overlay<'a> {
    pub(super) triggers: &'a [Trigger],
    /// The values written before the run.
    pub(super) timeline: &'a [Write],
}

/// A value and when it was set.
type Known = (Value, String);

impl Overlay<'_> {
    /// The sensor's value at the run when the batch knows it (`Some(None)`: it had none), `None` when the graph's is right.
    fn sensor(&self, id: &str) -> Option<Option<Known>> {
        if let Some(written) = self.written(id) {
            return Some(Some(written));
        }
        // Not written yet, but a later message sets it: the graph shows that message's value, the run the one before.
        let later = self.triggers.iter().find(|t| t.sensor == id)?;
        Some(later.before.as_ref().map(|before| {
            let value = before.get("value").cloned().unwrap_or(Value::Null);
            let timestamp = before.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned();
            (value, timestamp)
        }))
    }

    /// The sensor's value as the timeline last wrote it.
    fn written(&self, id: &str) -> Option<Known> {
        self.timeline.iter().rev().find_map(|write| match write {
            Write::Sensor { id: written, value, timestamp, .. } if written == id => {
                Some((value.clone(), timestamp.clone()))
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

/// Adds what a run that ended well set to the batch's timeline, and says of each sensor value what it replaced and whether a later message of the batch replaces it.
pub(super) fn settle(
    triggers: &[Trigger],
    message: usize,
    timeline: &mut Vec<Write>,
    effects: Vec<Effect>,
) -> Vec<Done> {
    let now = crate::data::now();
    let mut done = Vec::with_capacity(effects.len());
    for effect in effects {
        let (previous, superseded) = match &effect {
            Effect::SensorValue { sensor, value, .. } => {
                let last = timeline.iter().rposition(|write| matches!(write, Write::Sensor { id, .. } if id == sensor));
                let own =
                    last.filter(|&at| matches!(timeline[at], Write::Sensor { message: Some(m), .. } if m == message));
                // The run's own message was the last to set the sensor: the previous value is the one before the message (its value was not yet the sensor's when the 2018 service ran functions), which is what the batch wrote before it, or else what the sensor held before the batch.
                let previous = if let Some(at) = own {
                    let earlier = Overlay { triggers, timeline: &timeline[..at] };
                    Some(match earlier.written(sensor) {
                        Some((value, _)) => Some(value),
                        None => triggers[message].before.as_ref().and_then(|b| b.get("value").cloned()),
                    })
                } else {
                    Overlay { triggers, timeline }.sensor(sensor).map(|known| known.map(|(value, _)| value))
                };
                let superseded = triggers[message + 1..].iter().any(|t| t.sensor == *sensor);
                let (id, value, timestamp) = (sensor.clone(), json!(as_text(value)), now.clone());
                timeline.push(Write::Sensor { id, value, timestamp, message: None });
                (previous, superseded)
            }
            Effect::SpaceValue { space, name, value } => {
                let value = if value.is_null() { Value::Null } else { json!(as_text(value)) };
                timeline.push(Write::Space { id: space.clone(), name: name.clone(), value, timestamp: now.clone() });
                (None, false)
            }
            Effect::Notification { .. } => (None, false),
        };
        done.push(Done { effect, previous, superseded });
    }
    done
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
            let path = view.path_text(slot, kind);
            if !roleassignments::allowed(&view, self.function_id, action, &resource(kind), &path) {
                return Err(HostError::NotAuthorized);
            }
            f(tenant, &view, slot)
        })
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
                .filter(|&s| {
                    let path = view.path_text(s, kind);
                    roleassignments::allowed(view, self.function_id, access::Action::Read, &resource(kind), &path)
                })
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

    /// The newest points of a series as readings, newest first.
    fn history(
        &self,
        series: Result<history::SeriesId, history::HistoryError>,
        data_type: &str,
    ) -> Result<Vec<Reading>, HostError> {
        let failed = |err: history::HistoryError| {
            tracing::warn!(function = %self.function_id, error = %err, "a function's history read failed");
            HostError::Invalid(format!("the history cannot be read: {err}"))
        };
        let series = series.map_err(failed)?;
        let points =
            crate::history::recent(self.tenant.points(), &series, crate::history::HOST_POINTS_MAX).map_err(failed)?;
        Ok(points
            .into_iter()
            .map(|point| Reading {
                data_type: data_type.to_owned(),
                value: json!(point.value.text()),
                timestamp: crate::history::rfc3339(point.position.ts),
            })
            .collect())
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

/// The objects functions read, kept per tenant until its shape or its 2018 state changes: rendering one parses its twin's document, and the runs of a building read the same few again and again.
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
}

/// Objects `Rendered` keeps at most; past it, it starts over (an object takes about a kilobyte).
const RENDERED_MAX: usize = 1 << 16;

/// An object as functions see it: its 2018 shape with types and extended properties.
fn render(tenant: &Tenant, view: &View<'_>, slot: u32, kind: ObjectKind) -> Metadata {
    let shape = (tenant.shape, tenant.spatial.generation());
    let rendered = &tenant.rendered.inner;
    {
        let kept = rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.shape == shape
            && let Some(found) = kept.by_slot.get(&(slot, kind))
        {
            return Arc::clone(found);
        }
    }
    let object = Arc::new(match view.render(slot, kind, &Includes::of(&["types", "properties"])) {
        Value::Object(map) => map,
        _ => Map::new(),
    });
    let mut kept = rendered.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if kept.shape != shape || kept.by_slot.len() >= RENDERED_MAX {
        *kept = KeptRendered { shape, by_slot: HashMap::new() };
    }
    kept.by_slot.insert((slot, kind), Arc::clone(&object));
    object
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
        if let Some(known) = self.overlay.sensor(sensor_id) {
            return Ok(known.map(|(value, timestamp)| Reading { data_type, value, timestamp }));
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
        self.history(history::SeriesId::sensor(sensor_id), &data_type)
    }

    fn get_space_history_values(&mut self, space_id: &str, value_name: &str) -> Result<Vec<Reading>, HostError> {
        // The series is named by the spelling the value was first set with, as the twin keeps it.
        let name = self.with(ObjectKind::Space, space_id, access::Action::Read, |_, view, slot| {
            let values = view.graph.twin_at(slot).and_then(|t| t.property("values"));
            Ok(values.and_then(|v| v.as_object()?.keys().find(|k| k.eq_ignore_ascii_case(value_name)).cloned()))
        })?;
        let Some(name) = name else { return Ok(Vec::new()) };
        self.history(history::SeriesId::space_value(space_id, &name), &name)
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
