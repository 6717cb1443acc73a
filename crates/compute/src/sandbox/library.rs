//! The 2018 client library inside a QuickJS context: the global host functions (`getSensorMetadata` … `sendNotification`, `log`), the prototypes of spaces, devices and sensors with their methods (`Parent()`, `ChildSensors()`, `Value()`, `Notify()`, …), the frozen `Date`, and the conversions between host data and JavaScript values.
//!
//! Host objects show every member under its camelCase and its PascalCase name (`sensor.dataType`, `sensor.DataType`), and every method under both (`sensor.Value()`, `sensor.value()`); a member whose name is a method of its kind is left out, so the method wins.
//! The run's `Host` reaches the native functions through a scoped thread-local (`with_session`), set for the length of a run: QuickJS functions must be `'static` and the host is a borrow.
//! A native function takes the session only for the host call itself and builds JavaScript values after giving it back, so JavaScript that a conversion triggers (a setter on `Object.prototype`) can call the host again.
//! This file does not decide how a run ends or what a limit is: `sandbox.rs` does.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use rquickjs::function::{Constructor, Rest, This};
use rquickjs::object::Property;
use rquickjs::{Array, Atom, Coerced, Ctx, Exception, Function, Object, Value};
use scoped_tls_hkt::{ReborrowMut, scoped_thread_local};
use serde_json::Number;

use super::{ExecutionContext, ExtendedProperty, Host, HostError, Limits, Metadata, ObjectType, Reading, Telemetry};

/// The host and the log of the run in progress.
pub(super) struct Session<'a> {
    pub(super) host: &'a mut (dyn Host + 'a),
    pub(super) log: &'a mut Log,
}

impl<'a, 'b> ReborrowMut<'a> for Session<'b> {
    type Result = Session<'a>;

    fn reborrow_mut(&'a mut self) -> Session<'a> {
        Session { host: &mut *self.host, log: &mut *self.log }
    }
}

scoped_thread_local!(static mut SESSION: for<'a> Session<'a>);

/// Runs `f` with `session` answering the native functions of any context on this thread.
pub(super) fn with_session<R>(session: Session<'_>, f: impl FnOnce() -> R) -> R {
    SESSION.set(session, f)
}

/// The lines a run logged, within the limits.
pub(super) struct Log {
    lines: Vec<String>,
    dropped: usize,
    lines_max: usize,
    line_bytes_max: usize,
}

impl Log {
    pub(super) fn new(limits: &Limits) -> Log {
        Log {
            lines: Vec::new(),
            dropped: 0,
            lines_max: limits.log_lines_max,
            line_bytes_max: limits.log_line_bytes_max,
        }
    }

    /// The lines kept and the number dropped.
    pub(super) fn finish(self) -> (Vec<String>, usize) {
        (self.lines, self.dropped)
    }

    /// Keeps a line, cut to the byte limit; `None` when the line limit is reached.
    fn push(&mut self, mut line: String) -> Option<&str> {
        if self.lines.len() >= self.lines_max {
            self.dropped += 1;
            return None;
        }
        if line.len() > self.line_bytes_max {
            let mut end = self.line_bytes_max.saturating_sub('…'.len_utf8());
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
            line.push('…');
        }
        self.lines.push(line);
        self.lines.last().map(String::as_str)
    }
}

/// Adds the client library to a fresh context and returns the function that sets what `Date.now()` answers (milliseconds since the epoch), which only the sandbox holds.
pub(super) fn install<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Function<'js>> {
    let globals = ctx.globals();
    let freeze: Function = ctx.eval(FREEZE_DATE)?;
    let real_date: Value = globals.get("Date")?;
    let set_now: Function = freeze.call((real_date,))?;

    let prototypes = Object::new(ctx.clone())?;
    let mut kept = Vec::with_capacity(KINDS.len());
    for kind in KINDS {
        let prototype = Object::new(ctx.clone())?;
        for method in METHODS.iter().filter(|method| method.kind == kind) {
            let function =
                Function::new(ctx.clone(), move |ctx: Ctx<'js>, this: This<Value<'js>>, args: Rest<Value<'js>>| {
                    call_method(&ctx, method, this.0, args.0)
                })?
                .with_name(method.names[0])?;
            for name in method.names {
                prototype.prop(name, Property::from(function.clone()).writable().configurable())?;
            }
        }
        prototypes.prop(kind.name(), prototype.clone())?;
        kept.push(prototype);
    }
    globals.prop(PROTOTYPES, prototypes)?;
    // The runtime's one realm is built here; a realm built again after one that failed replaces what an earlier one kept.
    ctx.store_userdata::<HostPrototypes<'js>>(kept)
        .map_err(|_| Exception::throw_internal(ctx, "the host objects' prototypes could not be kept"))?;
    ctx.store_userdata::<MemberNames<'js>>(RefCell::default())
        .map_err(|_| Exception::throw_internal(ctx, "the host objects' member names could not be kept"))?;
    ctx.store_userdata::<Shapes<'js>>(RefCell::default())
        .map_err(|_| Exception::throw_internal(ctx, "the host objects' shapes could not be kept"))?;
    ctx.store_userdata::<WantedShapes>(RefCell::default())
        .map_err(|_| Exception::throw_internal(ctx, "the host objects' shapes could not be kept"))?;

    for &(name, call) in GLOBALS {
        let function =
            Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| invoke(&ctx, call, &args.0))?
                .with_name(name)?;
        globals.prop(name, Property::from(function).writable().configurable())?;
    }
    Ok(set_now)
}

/// The host objects' prototypes (`Space`, `Device`, `Sensor`), for the lockdown that freezes them.
pub(super) fn prototypes<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    ctx.globals().get(PROTOTYPES)
}

/// The `telemetry` argument of `process`.
pub(super) fn telemetry<'js>(ctx: &Ctx<'js>, telemetry: &Telemetry) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    define_member(&object, "SensorId", string(ctx, &telemetry.sensor_id)?)?;
    define_member(&object, "Message", string(ctx, &telemetry.message)?)?;
    Ok(object)
}

/// The `executionContext` argument of `process`.
pub(super) fn execution_context<'js>(ctx: &Ctx<'js>, context: &ExecutionContext) -> rquickjs::Result<Object<'js>> {
    let date: Constructor = ctx.globals().get("Date")?;
    let object = Object::new(ctx.clone())?;
    let enqueued: Value = date.construct((context.enqueued_time_unix_ms as f64,))?;
    define_member(&object, "EnqueuedTime", enqueued)?;
    let received: Value = date.construct((context.processor_received_time_unix_ms as f64,))?;
    define_member(&object, "ProcessorReceivedTime", received)?;
    define_member(&object, "UserDefinedFunctionId", string(ctx, &context.user_defined_function_id)?)?;
    define_member(&object, "CorrelationId", string(ctx, &context.correlation_id)?)?;
    Ok(object)
}

/// A value as a log line or a notification shows it: a string as it is, an object or array as its JSON text, anything else (and an object without JSON text, such as a function) as `String(value)`.
/// The conversion can run the function's code (`toJSON`, `toString`), so it can throw.
pub(super) fn display<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<String> {
    if let Some(text) = value.as_string() {
        return text.to_string();
    }
    if value.is_object()
        && let Some(json) = ctx.json_stringify(value.clone())?
    {
        return json.to_string();
    }
    Ok(value.get::<Coerced<String>>()?.0)
}

/// The kinds of host objects, in the order their prototypes are kept in the runtime's userdata.
const KINDS: [ObjectType; 3] = [ObjectType::Space, ObjectType::Device, ObjectType::Sensor];

/// The host objects' prototypes in the order of `KINDS`, kept in the runtime's userdata (dropped before the runtime is freed) so that building a host object does not look them up by name.
type HostPrototypes<'js> = Vec<Object<'js>>;

/// The names of host objects' members as atoms, under both casings (`["dataType", "DataType"]`), by member name, kept in the runtime's userdata.
/// A host object usually dies soon after it is built, and its member names with it, so that without them QuickJS would make and free the same atoms for every object.
type MemberNames<'js> = RefCell<HashMap<String, Vec<Atom<'js>>>>;

/// Member names `MemberNames` keeps at most; the members of later names are defined by name.
const MEMBER_NAMES_MAX: usize = 256;

/// For each kind and list of member names host objects were built with, a function that makes such an object from its members' values in one object literal (`make_shape`), kept in the runtime's userdata.
/// Objects of one kind nearly always have the same members, and a literal makes them faster than defining each member from Rust, whose bindings pass every member through several conversions.
/// A run only asks for a shape (`wanted`); the functions are made between runs (`make_wanted_shapes`), where the sandbox measures what the realm holds, so they never count as memory a run kept.
type Shapes<'js> = RefCell<HashMap<Vec<u8>, Function<'js>>>;

/// Shapes runs asked for since the last `make_wanted_shapes`, by key (`shape_key`): the kind's index in `KINDS`, then the member names.
type WantedShapes = RefCell<HashMap<Vec<u8>, Vec<String>>>;

/// Shapes kept at most, made and wanted; objects of later ones are built member by member.
const SHAPES_MAX: usize = 64;

/// Members a shape has at most; an object with more is built member by member.
const SHAPE_MEMBERS_MAX: usize = 256;

/// The global holding the prototypes of host objects, out of the way of functions (not enumerable, not writable).
const PROTOTYPES: &str = "__twinscapePrototypes";

/// Replaces the global `Date` with one whose current time is fixed: `Date.now()`, `new Date()` and `Date()` answer `frozen`; every other use is the real `Date`, which stays reachable only through the replacement.
/// Returns the function that sets `frozen`, which the sandbox calls at the start of each run and never lets a function reach.
const FREEZE_DATE: &str = r#"(function (RealDate) {
  let frozen = 0;
  function Date(...args) {
    if (new.target === undefined) return new RealDate(frozen).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [frozen] : args, new.target);
  }
  Object.defineProperty(Date, "prototype", { value: RealDate.prototype });
  for (const name of ["parse", "UTC"]) {
    Object.defineProperty(Date, name, { value: RealDate[name], writable: true, configurable: true });
  }
  Object.defineProperty(Date, "now", { value: function now() { return frozen; }, writable: true, configurable: true });
  Object.defineProperty(RealDate.prototype, "constructor", { value: Date, writable: true, configurable: true });
  Object.defineProperty(globalThis, "Date", { value: Date, writable: true, configurable: true });
  return (now) => { frozen = now; };
})"#;

/// A host call of the client library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    SensorMetadata,
    SpaceMetadata,
    DeviceMetadata,
    SensorValue,
    SpaceValue,
    SensorHistoryValues,
    SpaceHistoryValues,
    SpaceChildSpaces,
    SpaceChildSensors,
    SpaceChildDevices,
    DeviceChildSensors,
    SpaceParentSpace,
    SensorParentSpace,
    DeviceParentSpace,
    SensorParentDevice,
    SpaceExtendedProperty,
    SensorExtendedProperty,
    DeviceExtendedProperty,
    SetSensorValue,
    SetSpaceValue,
    SendNotification,
    Log,
}

/// The global functions of the 2018 client library (reference of 2018-12, complete).
const GLOBALS: &[(&str, Call)] = &[
    ("getSensorMetadata", Call::SensorMetadata),
    ("getSpaceMetadata", Call::SpaceMetadata),
    ("getDeviceMetadata", Call::DeviceMetadata),
    ("getSensorValue", Call::SensorValue),
    ("getSpaceValue", Call::SpaceValue),
    ("getSensorHistoryValues", Call::SensorHistoryValues),
    ("getSpaceHistoryValues", Call::SpaceHistoryValues),
    ("getSpaceChildSpaces", Call::SpaceChildSpaces),
    ("getSpaceChildSensors", Call::SpaceChildSensors),
    ("getSpaceChildDevices", Call::SpaceChildDevices),
    ("getDeviceChildSensors", Call::DeviceChildSensors),
    ("getSpaceParentSpace", Call::SpaceParentSpace),
    ("getSensorParentSpace", Call::SensorParentSpace),
    ("getDeviceParentSpace", Call::DeviceParentSpace),
    ("getSensorParentDevice", Call::SensorParentDevice),
    ("getSpaceExtendedProperty", Call::SpaceExtendedProperty),
    ("getSensorExtendedProperty", Call::SensorExtendedProperty),
    ("getDeviceExtendedProperty", Call::DeviceExtendedProperty),
    ("setSensorValue", Call::SetSensorValue),
    ("setSpaceValue", Call::SetSpaceValue),
    ("sendNotification", Call::SendNotification),
    ("log", Call::Log),
];

impl Call {
    fn name(self) -> &'static str {
        GLOBALS.iter().find(|(_, call)| *call == self).map(|(name, _)| *name).expect("every call is a global")
    }
}

/// A method of host objects of one kind: a host call whose first arguments come from the object.
struct Method {
    kind: ObjectType,
    /// The PascalCase name real functions use, and the camelCase one.
    names: [&'static str; 2],
    call: Call,
    receiver: Receiver,
}

/// The arguments a method takes from its object, before the caller's.
#[derive(Clone, Copy)]
enum Receiver {
    /// The object's id.
    Id,
    /// The object's id and its data type (a sensor's `Value()` and `History()`).
    IdAndDataType,
    /// The object's id and its kind (`Notify(payload)`).
    IdAndKind,
}

const METHODS: &[Method] = &[
    Method {
        kind: ObjectType::Space,
        names: ["Parent", "parent"],
        call: Call::SpaceParentSpace,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Space,
        names: ["ChildSensors", "childSensors"],
        call: Call::SpaceChildSensors,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Space,
        names: ["ChildDevices", "childDevices"],
        call: Call::SpaceChildDevices,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Space,
        names: ["ExtendedProperty", "extendedProperty"],
        call: Call::SpaceExtendedProperty,
        receiver: Receiver::Id,
    },
    Method { kind: ObjectType::Space, names: ["Value", "value"], call: Call::SpaceValue, receiver: Receiver::Id },
    Method {
        kind: ObjectType::Space,
        names: ["History", "history"],
        call: Call::SpaceHistoryValues,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Space,
        names: ["Notify", "notify"],
        call: Call::SendNotification,
        receiver: Receiver::IdAndKind,
    },
    Method {
        kind: ObjectType::Device,
        names: ["Parent", "parent"],
        call: Call::DeviceParentSpace,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Device,
        names: ["ChildSensors", "childSensors"],
        call: Call::DeviceChildSensors,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Device,
        names: ["ExtendedProperty", "extendedProperty"],
        call: Call::DeviceExtendedProperty,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Device,
        names: ["Notify", "notify"],
        call: Call::SendNotification,
        receiver: Receiver::IdAndKind,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["Space", "space"],
        call: Call::SensorParentSpace,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["Device", "device"],
        call: Call::SensorParentDevice,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["ExtendedProperty", "extendedProperty"],
        call: Call::SensorExtendedProperty,
        receiver: Receiver::Id,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["Value", "value"],
        call: Call::SensorValue,
        receiver: Receiver::IdAndDataType,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["History", "history"],
        call: Call::SensorHistoryValues,
        receiver: Receiver::IdAndDataType,
    },
    Method {
        kind: ObjectType::Sensor,
        names: ["Notify", "notify"],
        call: Call::SendNotification,
        receiver: Receiver::IdAndKind,
    },
];

/// Calls a method: the object's own arguments, then the caller's.
fn call_method<'js>(
    ctx: &Ctx<'js>,
    method: &Method,
    this: Value<'js>,
    args: Vec<Value<'js>>,
) -> rquickjs::Result<Value<'js>> {
    let member = |camel: &str, pascal: &str| -> rquickjs::Result<Option<Value<'js>>> {
        let Some(object) = this.as_object() else { return Ok(None) };
        let value: Value = object.get(camel)?;
        let value = if value.is_undefined() { object.get(pascal)? } else { value };
        Ok((!value.is_undefined()).then_some(value))
    };
    let not_a = || {
        let message =
            format!("{}: called on something that is not a {}", method.names[0], method.kind.name().to_lowercase());
        throw(ctx, &HostError::Invalid(message))
    };
    let mut full = Vec::with_capacity(args.len() + 2);
    full.push(member("id", "Id")?.ok_or_else(not_a)?);
    match method.receiver {
        Receiver::Id => {}
        Receiver::IdAndDataType => full.push(member("dataType", "DataType")?.ok_or_else(not_a)?),
        Receiver::IdAndKind => full.push(string(ctx, method.kind.name())?),
    }
    full.extend(args);
    invoke(ctx, method.call, &full)
}

/// Calls the host for `call` with JavaScript arguments and returns its answer as a JavaScript value; a host error is thrown as an `Error` with the error's text.
fn invoke<'js>(ctx: &Ctx<'js>, call: Call, args: &[Value<'js>]) -> rquickjs::Result<Value<'js>> {
    let text = |index: usize| text_argument(ctx, call, args, index);
    match call {
        Call::SensorMetadata => {
            let id = text(0)?;
            let metadata = host(ctx, |host| host.get_sensor_metadata(&id))?;
            host_object(ctx, ObjectType::Sensor, &metadata)
        }
        Call::SpaceMetadata => {
            let id = text(0)?;
            let metadata = host(ctx, |host| host.get_space_metadata(&id))?;
            host_object(ctx, ObjectType::Space, &metadata)
        }
        Call::DeviceMetadata => {
            let id = text(0)?;
            let metadata = host(ctx, |host| host.get_device_metadata(&id))?;
            host_object(ctx, ObjectType::Device, &metadata)
        }
        Call::SensorValue => {
            let (id, data_type) = (text(0)?, text(1)?);
            let reading = host(ctx, |host| host.get_sensor_value(&id, &data_type))?;
            reading_object(ctx, &data_type, reading.as_ref())
        }
        Call::SpaceValue => {
            let (id, name) = (text(0)?, text(1)?);
            let reading = host(ctx, |host| host.get_space_value(&id, &name))?;
            reading_object(ctx, &name, reading.as_ref())
        }
        Call::SensorHistoryValues => {
            let (id, data_type) = (text(0)?, text(1)?);
            let readings = host(ctx, |host| host.get_sensor_history_values(&id, &data_type))?;
            array(ctx, readings.iter().map(|reading| reading_object(ctx, &reading.data_type, Some(reading))))
        }
        Call::SpaceHistoryValues => {
            let (id, name) = (text(0)?, text(1)?);
            let readings = host(ctx, |host| host.get_space_history_values(&id, &name))?;
            array(ctx, readings.iter().map(|reading| reading_object(ctx, &reading.data_type, Some(reading))))
        }
        Call::SpaceChildSpaces => {
            let id = text(0)?;
            let children = host(ctx, |host| host.get_space_child_spaces(&id))?;
            array(ctx, children.iter().map(|child| host_object(ctx, ObjectType::Space, child)))
        }
        Call::SpaceChildSensors => {
            let id = text(0)?;
            let children = host(ctx, |host| host.get_space_child_sensors(&id))?;
            array(ctx, children.iter().map(|child| host_object(ctx, ObjectType::Sensor, child)))
        }
        Call::SpaceChildDevices => {
            let id = text(0)?;
            let children = host(ctx, |host| host.get_space_child_devices(&id))?;
            array(ctx, children.iter().map(|child| host_object(ctx, ObjectType::Device, child)))
        }
        Call::DeviceChildSensors => {
            let id = text(0)?;
            let children = host(ctx, |host| host.get_device_child_sensors(&id))?;
            array(ctx, children.iter().map(|child| host_object(ctx, ObjectType::Sensor, child)))
        }
        Call::SpaceParentSpace => {
            let id = text(0)?;
            match host(ctx, |host| host.get_space_parent_space(&id))? {
                Some(parent) => host_object(ctx, ObjectType::Space, &parent),
                None => Ok(Value::new_null(ctx.clone())),
            }
        }
        Call::SensorParentSpace => {
            let id = text(0)?;
            let parent = host(ctx, |host| host.get_sensor_parent_space(&id))?;
            host_object(ctx, ObjectType::Space, &parent)
        }
        Call::DeviceParentSpace => {
            let id = text(0)?;
            let parent = host(ctx, |host| host.get_device_parent_space(&id))?;
            host_object(ctx, ObjectType::Space, &parent)
        }
        Call::SensorParentDevice => {
            let id = text(0)?;
            let parent = host(ctx, |host| host.get_sensor_parent_device(&id))?;
            host_object(ctx, ObjectType::Device, &parent)
        }
        Call::SpaceExtendedProperty => {
            let (id, name) = (text(0)?, text(1)?);
            let property = host(ctx, |host| host.get_space_extended_property(&id, &name))?;
            property_object(ctx, &property)
        }
        Call::SensorExtendedProperty => {
            let (id, name) = (text(0)?, text(1)?);
            let property = host(ctx, |host| host.get_sensor_extended_property(&id, &name))?;
            property_object(ctx, &property)
        }
        Call::DeviceExtendedProperty => {
            let (id, name) = (text(0)?, text(1)?);
            let property = host(ctx, |host| host.get_device_extended_property(&id, &name))?;
            property_object(ctx, &property)
        }
        Call::SetSensorValue => {
            let (id, data_type) = (text(0)?, text(1)?);
            let value = json_argument(ctx, call, args, 2)?;
            host(ctx, |host| host.set_sensor_value(&id, &data_type, value))?;
            Ok(Value::new_undefined(ctx.clone()))
        }
        Call::SetSpaceValue => {
            let (id, name) = (text(0)?, text(1)?);
            let value = json_argument(ctx, call, args, 2)?;
            host(ctx, |host| host.set_space_value(&id, &name, value))?;
            Ok(Value::new_undefined(ctx.clone()))
        }
        Call::SendNotification => {
            let (id, kind) = (text(0)?, text(1)?);
            let object_type = match kind.to_ascii_lowercase().as_str() {
                "space" => ObjectType::Space,
                "device" => ObjectType::Device,
                "sensor" => ObjectType::Sensor,
                _ => {
                    let message = format!(
                        "sendNotification: the topology object type must be Space, Device or Sensor, not {kind:?}"
                    );
                    return Err(throw(ctx, &HostError::Invalid(message)));
                }
            };
            let payload = args.get(2).map(|payload| display(ctx, payload)).transpose()?.unwrap_or_default();
            host(ctx, |host| host.send_notification(&id, object_type, &payload))?;
            Ok(Value::new_undefined(ctx.clone()))
        }
        Call::Log => {
            let line = args.iter().map(|arg| display(ctx, arg)).collect::<rquickjs::Result<Vec<_>>>()?.join(" ");
            let result = if SESSION.is_set() {
                SESSION.with(|session| match session.log.push(line) {
                    Some(line) => session.host.log(line),
                    None => Ok(()),
                })
            } else {
                Err(unavailable())
            };
            result.map_err(|error| throw(ctx, &error))?;
            Ok(Value::new_undefined(ctx.clone()))
        }
    }
}

/// Makes one host call with the run's session, turning a host error into a thrown `Error`.
fn host<'js, T>(ctx: &Ctx<'js>, call: impl FnOnce(&mut dyn Host) -> Result<T, HostError>) -> rquickjs::Result<T> {
    let result = if SESSION.is_set() { SESSION.with(|session| call(session.host)) } else { Err(unavailable()) };
    result.map_err(|error| throw(ctx, &error))
}

/// The error of a host call made when no run is in progress (a function the sandbox itself calls between runs, should it ever reach the host).
fn unavailable() -> HostError {
    HostError::Invalid("the host is not available outside a run".to_owned())
}

fn throw(ctx: &Ctx<'_>, error: &HostError) -> rquickjs::Error {
    Exception::throw_message(ctx, &error.to_string())
}

/// A string argument (an id, a data type, a value name); anything else is an invalid call.
fn text_argument(ctx: &Ctx<'_>, call: Call, args: &[Value<'_>], index: usize) -> rquickjs::Result<String> {
    match args.get(index).and_then(Value::as_string) {
        Some(text) => text.to_string(),
        None => {
            let message = format!("{}: argument {} must be a string", call.name(), index + 1);
            Err(throw(ctx, &HostError::Invalid(message)))
        }
    }
}

/// A value argument as JSON: primitives as they are, `undefined` (or a missing argument) and non-finite numbers as `null`, objects and arrays through `JSON.stringify`.
fn json_argument<'js>(
    ctx: &Ctx<'js>,
    call: Call,
    args: &[Value<'js>],
    index: usize,
) -> rquickjs::Result<serde_json::Value> {
    let Some(value) = args.get(index) else { return Ok(serde_json::Value::Null) };
    if let Some(flag) = value.as_bool() {
        return Ok(serde_json::Value::Bool(flag));
    }
    if let Some(number) = value.as_int() {
        return Ok(serde_json::Value::from(number));
    }
    if let Some(number) = value.as_float() {
        return Ok(Number::from_f64(number).map_or(serde_json::Value::Null, serde_json::Value::Number));
    }
    if let Some(text) = value.as_string() {
        return Ok(serde_json::Value::String(text.to_string()?));
    }
    if !value.is_object() {
        return Ok(serde_json::Value::Null);
    }
    let Some(json) = ctx.json_stringify(value.clone())? else { return Ok(serde_json::Value::Null) };
    serde_json::from_str(&json.to_string()?).map_err(|error| {
        let message = format!("{}: argument {} is not a JSON value: {error}", call.name(), index + 1);
        throw(ctx, &HostError::Invalid(message))
    })
}

/// A space, device or sensor: its members under both casings, on the prototype with its kind's methods.
fn host_object<'js>(ctx: &Ctx<'js>, kind: ObjectType, metadata: &Metadata) -> rquickjs::Result<Value<'js>> {
    let index = KINDS.iter().position(|known| *known == kind).expect("every kind has a prototype");
    let kept = ctx.userdata::<HostPrototypes<'js>>().and_then(|kept| kept.get(index).cloned());
    let prototype = match kept {
        Some(prototype) => prototype,
        None => ctx.globals().get::<_, Object>(PROTOTYPES)?.get(kind.name())?,
    };
    // Method names come in pairs that differ only in the case of their first letter, so a member named like a method is left out under both casings.
    let members = || metadata.iter().filter(|(key, _)| !is_method(kind, key));
    if let Some(maker) = shape_maker(ctx, index, members().map(|(key, _)| key.as_str())) {
        let values =
            members().map(|(_, value)| json_value(ctx, value, Casing::Both)).collect::<rquickjs::Result<_>>()?;
        return maker.call((Rest::<Value<'js>>(values),));
    }
    let object = Object::new_proto(ctx.clone(), Some(&prototype))?;
    let names = ctx.userdata::<MemberNames<'js>>();
    let mut names = names.as_ref().and_then(|names| names.try_borrow_mut().ok());
    for (key, value) in members() {
        let value = json_value(ctx, value, Casing::Both)?;
        match names.as_deref_mut() {
            Some(names) => define_named_member(ctx, names, &object, key, value)?,
            None => define_member(&object, key, value)?,
        }
    }
    Ok(object.into_value())
}

/// The function that makes a host object of kind `KINDS[kind]` with the members `names`, once it is made; until then, the first time, the shape is noted as wanted (at most `SHAPES_MAX` shapes of at most `SHAPE_MEMBERS_MAX` members).
fn shape_maker<'js, 'n>(
    ctx: &Ctx<'js>,
    kind: usize,
    names: impl Iterator<Item = &'n str> + Clone,
) -> Option<Function<'js>> {
    let made = ctx.userdata::<Shapes<'js>>()?;
    let wanted = ctx.userdata::<WantedShapes>()?;
    let key = shape_key(kind, names.clone());
    if let Some(maker) = made.borrow().get(&key) {
        return Some(maker.clone());
    }
    let mut wanted = wanted.try_borrow_mut().ok()?;
    let kept = made.borrow().len() + wanted.len();
    let members = names.clone().count();
    if kept < SHAPES_MAX && members <= SHAPE_MEMBERS_MAX && !wanted.contains_key(&key) {
        let shape = std::iter::once(kind.to_string()).chain(names.map(str::to_owned)).collect();
        wanted.insert(key, shape);
    }
    None
}

/// The key of a shape: the kind's index, then each name preceded by its length (each length a `u32`, little-endian), so no two lists of names make one key.
fn shape_key<'n>(kind: usize, names: impl Iterator<Item = &'n str> + Clone) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + names.clone().map(|name| 4 + name.len()).sum::<usize>());
    let length = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    key.extend_from_slice(&length(kind));
    for name in names {
        key.extend_from_slice(&length(name.len()));
        key.extend_from_slice(name.as_bytes());
    }
    key
}

/// Makes the shapes runs asked for since the last call (`shape_maker`): for each, `(function (p) { return function (a0, …) { return { __proto__: p, "id": a0, "Id": a0, … }; }; })` called with its kind's prototype, each member under both casings as `define_member` gives them (a member named `__proto__` as a computed key, which defines it rather than setting the prototype; every key quoted by `serde_json`, so no name can change the source).
/// Called between runs; true when it made any, so the realm is to be measured again.
pub(super) fn make_wanted_shapes<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<bool> {
    let (Some(shapes), Some(wanted)) = (ctx.userdata::<Shapes<'js>>(), ctx.userdata::<WantedShapes>()) else {
        return Ok(false);
    };
    let wanted = std::mem::take(&mut *wanted.borrow_mut());
    let made = !wanted.is_empty();
    for (key, shape) in wanted {
        let Some((kind, names)) = shape.split_first() else { continue };
        let kind: usize = kind.parse().unwrap_or(usize::MAX);
        let Some(prototype) = ctx.userdata::<HostPrototypes<'js>>().and_then(|kept| kept.get(kind).cloned()) else {
            continue;
        };
        let mut parameters = Vec::with_capacity(names.len());
        let mut fields = String::new();
        let mut buffer = [0_u8; KEY_BUFFER_BYTES];
        for (n, name) in names.iter().enumerate() {
            parameters.push(format!("a{n}"));
            let other = other_casing(name, &mut buffer);
            for key in std::iter::once(name.as_str()).chain(other.as_deref()) {
                let quoted = serde_json::to_string(key).expect("a string serializes");
                if key == "__proto__" {
                    fields.push_str(&format!(", [{quoted}]: a{n}"));
                } else {
                    fields.push_str(&format!(", {quoted}: a{n}"));
                }
            }
        }
        let source = format!(
            "(function (p) {{ return function ({}) {{ return {{ __proto__: p{fields} }}; }}; }})",
            parameters.join(", ")
        );
        let outer: Function = ctx.eval(source)?;
        let maker: Function = outer.call((prototype,))?;
        shapes.borrow_mut().insert(key, maker);
    }
    Ok(made)
}

/// `define_member` with the atoms of `key` kept in `names`.
fn define_named_member<'js>(
    ctx: &Ctx<'js>,
    names: &mut HashMap<String, Vec<Atom<'js>>>,
    object: &Object<'js>,
    key: &str,
    value: Value<'js>,
) -> rquickjs::Result<()> {
    let define = |atoms: &[Atom<'js>]| -> rquickjs::Result<()> {
        for atom in atoms {
            object.prop(atom.clone(), Property::from(value.clone()).writable().enumerable().configurable())?;
        }
        Ok(())
    };
    if let Some(atoms) = names.get(key) {
        return define(atoms);
    }
    if names.len() >= MEMBER_NAMES_MAX {
        return define_member(object, key, value);
    }
    let mut buffer = [0_u8; KEY_BUFFER_BYTES];
    let mut atoms = vec![Atom::from_str(ctx.clone(), key)?];
    if let Some(other) = other_casing(key, &mut buffer) {
        atoms.push(Atom::from_str(ctx.clone(), &other)?);
    }
    define(&atoms)?;
    names.insert(key.to_owned(), atoms);
    Ok(())
}

/// Whether `name` is a method of host objects of `kind`.
fn is_method(kind: ObjectType, name: &str) -> bool {
    METHODS.iter().any(|method| method.kind == kind && method.names.contains(&name))
}

/// A sensor or space value (`Value()`): `DataType`, `Value`, `Timestamp` and `CreatedTime` (the client library reference's name), with `Value` and the times `null` before any value.
fn reading_object<'js>(ctx: &Ctx<'js>, data_type: &str, reading: Option<&Reading>) -> rquickjs::Result<Value<'js>> {
    let object = Object::new(ctx.clone())?;
    define_member(&object, "DataType", string(ctx, data_type)?)?;
    let (value, timestamp) = match reading {
        Some(reading) => (json_value(ctx, &reading.value, Casing::AsIs)?, string(ctx, &reading.timestamp)?),
        None => (Value::new_null(ctx.clone()), Value::new_null(ctx.clone())),
    };
    define_member(&object, "Value", value)?;
    define_member(&object, "Timestamp", timestamp.clone())?;
    define_member(&object, "CreatedTime", timestamp)?;
    Ok(object.into_value())
}

/// An extended property: `Name` and `Value`.
fn property_object<'js>(ctx: &Ctx<'js>, property: &ExtendedProperty) -> rquickjs::Result<Value<'js>> {
    let object = Object::new(ctx.clone())?;
    define_member(&object, "Name", string(ctx, &property.name)?)?;
    define_member(&object, "Value", string(ctx, &property.value)?)?;
    Ok(object.into_value())
}

/// Whether the members of objects in a JSON value show under both casings (host data: metadata) or as they are (values a function set, which come back as set).
#[derive(Clone, Copy)]
enum Casing {
    Both,
    AsIs,
}

/// A JSON value as a JavaScript value.
fn json_value<'js>(ctx: &Ctx<'js>, value: &serde_json::Value, casing: Casing) -> rquickjs::Result<Value<'js>> {
    Ok(match value {
        serde_json::Value::Null => Value::new_null(ctx.clone()),
        serde_json::Value::Bool(flag) => Value::new_bool(ctx.clone(), *flag),
        serde_json::Value::Number(number) => match number.as_i64().and_then(|number| i32::try_from(number).ok()) {
            Some(number) => Value::new_int(ctx.clone(), number),
            None => Value::new_float(ctx.clone(), number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => string(ctx, text)?,
        serde_json::Value::Array(items) => array(ctx, items.iter().map(|item| json_value(ctx, item, casing)))?,
        serde_json::Value::Object(members) => {
            let object = Object::new(ctx.clone())?;
            for (key, value) in members {
                let value = json_value(ctx, value, casing)?;
                match casing {
                    Casing::Both => define_member(&object, key, value)?,
                    Casing::AsIs => {
                        object.prop(key.as_str(), Property::from(value).writable().enumerable().configurable())?
                    }
                }
            }
            object.into_value()
        }
    })
}

fn array<'js>(
    ctx: &Ctx<'js>,
    items: impl Iterator<Item = rquickjs::Result<Value<'js>>>,
) -> rquickjs::Result<Value<'js>> {
    let array = Array::new(ctx.clone())?;
    for (index, item) in items.enumerate() {
        array.as_object().prop(index as u32, Property::from(item?).writable().enumerable().configurable())?;
    }
    Ok(array.into_value())
}

fn string<'js>(ctx: &Ctx<'js>, text: &str) -> rquickjs::Result<Value<'js>> {
    Ok(rquickjs::String::from_str(ctx.clone(), text)?.into_value())
}

/// Defines `value` under `key` and under `key` with the case of its first letter flipped (`dataType` and `DataType`).
/// Defining rather than assigning keeps setters on `Object.prototype` out of it.
fn define_member<'js>(object: &Object<'js>, key: &str, value: Value<'js>) -> rquickjs::Result<()> {
    let mut buffer = [0_u8; KEY_BUFFER_BYTES];
    match other_casing(key, &mut buffer) {
        Some(other) => {
            object.prop(key, Property::from(value.clone()).writable().enumerable().configurable())?;
            object.prop(other.as_ref(), Property::from(value).writable().enumerable().configurable())
        }
        None => object.prop(key, Property::from(value).writable().enumerable().configurable()),
    }
}

/// Names up to this long get their other casing without an allocation.
const KEY_BUFFER_BYTES: usize = 64;

/// `key` with the case of its first letter flipped, written into `buffer` when it fits; `None` when that letter has no case.
fn other_casing<'b>(key: &str, buffer: &'b mut [u8; KEY_BUFFER_BYTES]) -> Option<Cow<'b, str>> {
    let first = *key.as_bytes().first()?;
    let flipped = if first.is_ascii_lowercase() {
        first.to_ascii_uppercase()
    } else if first.is_ascii_uppercase() {
        first.to_ascii_lowercase()
    } else {
        return None;
    };
    match buffer.get_mut(..key.len()) {
        Some(bytes) => {
            bytes.copy_from_slice(key.as_bytes());
            bytes[0] = flipped;
            // Only an ASCII letter changed, so the bytes are still UTF-8.
            std::str::from_utf8(bytes).ok().map(Cow::Borrowed)
        }
        None => {
            let mut other = String::with_capacity(key.len());
            other.push(char::from(flipped));
            other.push_str(&key[1..]);
            Some(Cow::Owned(other))
        }
    }
}
