//! Tests of the sandbox through a fake host holding the occupancy sample's room (a motion and a carbon dioxide sensor on one device) and recording every call a function makes.

use std::time::Duration;

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use super::{
    CheckError, ExecutionContext, ExtendedProperty, Host, HostError, Limits, Metadata, ObjectType, Reading, RunOutcome,
    RunStatus, Sandbox, Telemetry,
};

/// 2026-11-26T12:00:00Z.
const RECEIVED_UNIX_MS: i64 = 1_795_694_400_000;

/// A host over a fixed topology: building > floor-1 > room-a1, which holds device-a1 with sensor-motion and sensor-co2.
struct FakeHost {
    spaces: Vec<Metadata>,
    devices: Vec<Metadata>,
    sensors: Vec<Metadata>,
    properties: Vec<(String, ExtendedProperty)>,
    /// Every value set, oldest first, by object id.
    values: Vec<(String, Reading)>,
    /// Refuse every call, as for a function without role assignments.
    denied: bool,
    calls: Vec<String>,
}

impl FakeHost {
    fn new() -> FakeHost {
        let object = |value: Value| match value {
            Value::Object(members) => members,
            _ => unreachable!("fixtures are objects"),
        };
        FakeHost {
            spaces: vec![
                object(json!({ "id": "building", "name": "Quickstart Building", "typeId": 14, "parentSpaceId": null })),
                object(json!({ "id": "floor-1", "name": "Floor 1", "typeId": 15, "parentSpaceId": "building" })),
                object(
                    json!({ "id": "room-a1", "name": "Focus Room A1", "friendlyName": "Focus room", "typeId": 16, "parentSpaceId": "floor-1", "subtypeId": 0 }),
                ),
            ],
            devices: vec![object(json!({
                "id": "device-a1", "name": "Raspberry Pi 3 A1", "hardwareId": "1234567890AB", "spaceId": "room-a1",
                "type": "None", "typeId": 2
            }))],
            sensors: vec![
                object(json!({
                    "id": "sensor-motion", "dataType": "Motion", "dataTypeId": 27, "hardwareId": "SAMPLE_SENSOR_MOTION",
                    "deviceId": "device-a1", "spaceId": "room-a1", "port": "30", "pollRate": 3600
                })),
                object(json!({
                    "id": "sensor-co2", "dataType": "CarbonDioxide", "hardwareId": "SAMPLE_SENSOR_CARBONDIOXIDE",
                    "deviceId": "device-a1", "spaceId": "room-a1",
                    "properties": [{ "name": "Manufacturer", "value": "GoodCorp", "dataType": "String" }],
                    "space": { "id": "room-a1" }
                })),
            ],
            properties: vec![(
                "room-a1".to_owned(),
                ExtendedProperty { name: "Capacity".to_owned(), value: "4".to_owned() },
            )],
            values: Vec::new(),
            denied: false,
            calls: Vec::new(),
        }
    }

    fn record(&mut self, call: String) -> Result<(), HostError> {
        self.calls.push(call);
        if self.denied { Err(HostError::NotAuthorized) } else { Ok(()) }
    }

    fn find(list: &[Metadata], id: &str) -> Result<Metadata, HostError> {
        list.iter().find(|object| object["id"] == id).cloned().ok_or(HostError::DataNotFound)
    }

    fn children(list: &[Metadata], member: &str, parent: &str) -> Vec<Metadata> {
        list.iter().filter(|object| object[member] == parent).cloned().collect()
    }

    fn member(list: &[Metadata], id: &str, member: &str) -> Result<String, HostError> {
        let object = Self::find(list, id)?;
        object.get(member).and_then(Value::as_str).map(str::to_owned).ok_or(HostError::DataNotFound)
    }

    fn latest(&self, id: &str, data_type: &str) -> Option<Reading> {
        self.history(id, data_type).pop()
    }

    fn history(&self, id: &str, data_type: &str) -> Vec<Reading> {
        self.values
            .iter()
            .filter(|(object, reading)| object == id && reading.data_type == data_type)
            .map(|(_, reading)| reading.clone())
            .collect()
    }

    fn property(&self, id: &str, name: &str) -> Result<ExtendedProperty, HostError> {
        let found = self.properties.iter().find(|(object, property)| object == id && property.name == name);
        found.map(|(_, property)| property.clone()).ok_or(HostError::DataNotFound)
    }

    fn set(&mut self, id: &str, data_type: &str, value: Value) {
        let timestamp = format!("2026-11-26T12:00:{:02}Z", self.values.len());
        self.values.push((id.to_owned(), Reading { data_type: data_type.to_owned(), value, timestamp }));
    }
}

impl Host for FakeHost {
    fn get_sensor_metadata(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getSensorMetadata({sensor_id})"))?;
        Self::find(&self.sensors, sensor_id)
    }

    fn get_space_metadata(&mut self, space_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getSpaceMetadata({space_id})"))?;
        Self::find(&self.spaces, space_id)
    }

    fn get_device_metadata(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getDeviceMetadata({device_id})"))?;
        Self::find(&self.devices, device_id)
    }

    fn get_sensor_value(&mut self, sensor_id: &str, data_type: &str) -> Result<Option<Reading>, HostError> {
        self.record(format!("getSensorValue({sensor_id}, {data_type})"))?;
        Self::find(&self.sensors, sensor_id)?;
        Ok(self.latest(sensor_id, data_type))
    }

    fn get_space_value(&mut self, space_id: &str, value_name: &str) -> Result<Option<Reading>, HostError> {
        self.record(format!("getSpaceValue({space_id}, {value_name})"))?;
        Self::find(&self.spaces, space_id)?;
        Ok(self.latest(space_id, value_name))
    }

    fn get_sensor_history_values(&mut self, sensor_id: &str, data_type: &str) -> Result<Vec<Reading>, HostError> {
        self.record(format!("getSensorHistoryValues({sensor_id}, {data_type})"))?;
        Ok(self.history(sensor_id, data_type))
    }

    fn get_space_history_values(&mut self, space_id: &str, value_name: &str) -> Result<Vec<Reading>, HostError> {
        self.record(format!("getSpaceHistoryValues({space_id}, {value_name})"))?;
        Ok(self.history(space_id, value_name))
    }

    fn get_space_child_spaces(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.record(format!("getSpaceChildSpaces({space_id})"))?;
        Ok(Self::children(&self.spaces, "parentSpaceId", space_id))
    }

    fn get_space_child_sensors(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.record(format!("getSpaceChildSensors({space_id})"))?;
        Ok(Self::children(&self.sensors, "spaceId", space_id))
    }

    fn get_space_child_devices(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.record(format!("getSpaceChildDevices({space_id})"))?;
        Ok(Self::children(&self.devices, "spaceId", space_id))
    }

    fn get_device_child_sensors(&mut self, device_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.record(format!("getDeviceChildSensors({device_id})"))?;
        Ok(Self::children(&self.sensors, "deviceId", device_id))
    }

    fn get_space_parent_space(&mut self, space_id: &str) -> Result<Option<Metadata>, HostError> {
        self.record(format!("getSpaceParentSpace({space_id})"))?;
        match Self::member(&self.spaces, space_id, "parentSpaceId") {
            Ok(parent) => Self::find(&self.spaces, &parent).map(Some),
            Err(_) => Ok(None),
        }
    }

    fn get_sensor_parent_space(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getSensorParentSpace({sensor_id})"))?;
        Self::find(&self.spaces, &Self::member(&self.sensors, sensor_id, "spaceId")?)
    }

    fn get_device_parent_space(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getDeviceParentSpace({device_id})"))?;
        Self::find(&self.spaces, &Self::member(&self.devices, device_id, "spaceId")?)
    }

    fn get_sensor_parent_device(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.record(format!("getSensorParentDevice({sensor_id})"))?;
        Self::find(&self.devices, &Self::member(&self.sensors, sensor_id, "deviceId")?)
    }

    fn get_space_extended_property(&mut self, space_id: &str, name: &str) -> Result<ExtendedProperty, HostError> {
        self.record(format!("getSpaceExtendedProperty({space_id}, {name})"))?;
        self.property(space_id, name)
    }

    fn get_sensor_extended_property(&mut self, sensor_id: &str, name: &str) -> Result<ExtendedProperty, HostError> {
        self.record(format!("getSensorExtendedProperty({sensor_id}, {name})"))?;
        self.property(sensor_id, name)
    }

    fn get_device_extended_property(&mut self, device_id: &str, name: &str) -> Result<ExtendedProperty, HostError> {
        self.record(format!("getDeviceExtendedProperty({device_id}, {name})"))?;
        self.property(device_id, name)
    }

    fn set_sensor_value(&mut self, sensor_id: &str, data_type: &str, value: Value) -> Result<(), HostError> {
        self.record(format!("setSensorValue({sensor_id}, {data_type}, {value})"))?;
        Self::find(&self.sensors, sensor_id)?;
        self.set(sensor_id, data_type, value);
        Ok(())
    }

    fn set_space_value(&mut self, space_id: &str, value_name: &str, value: Value) -> Result<(), HostError> {
        self.record(format!("setSpaceValue({space_id}, {value_name}, {value})"))?;
        Self::find(&self.spaces, space_id)?;
        self.set(space_id, value_name, value);
        Ok(())
    }

    fn send_notification(&mut self, object_id: &str, object_type: ObjectType, payload: &str) -> Result<(), HostError> {
        self.record(format!("sendNotification({object_id}, {}, {payload})", object_type.name()))
    }

    fn log(&mut self, message: &str) -> Result<(), HostError> {
        self.calls.push(format!("log({message})"));
        Ok(())
    }
}

/// The default limits with a time limit that a debug build on a busy machine cannot reach by accident; only the time limit's own test keeps the default 50 ms.
fn limits() -> Limits {
    Limits { time_ms: 1_000, ..Limits::default() }
}

/// Runs `source` once on `sensor_id`'s message and renders the outcome (without its duration) and the host calls it made.
fn run(sandbox: &mut Sandbox, host: &mut FakeHost, source: &str, sensor_id: &str, message: &str) -> String {
    let outcome = run_outcome(sandbox, host, source, sensor_id, message);
    render(&outcome, host)
}

/// The outcome itself, for tests about its duration.
fn run_outcome(sandbox: &mut Sandbox, host: &mut FakeHost, source: &str, sensor_id: &str, message: &str) -> RunOutcome {
    host.calls.clear();
    let telemetry = Telemetry { sensor_id: sensor_id.to_owned(), message: message.to_owned() };
    let context = ExecutionContext {
        enqueued_time_unix_ms: RECEIVED_UNIX_MS - 1_500,
        processor_received_time_unix_ms: RECEIVED_UNIX_MS,
        user_defined_function_id: "udf-availability".to_owned(),
        correlation_id: "correlation-1".to_owned(),
    };
    sandbox.run(source, &telemetry, &context, host)
}

fn render(outcome: &RunOutcome, host: &FakeHost) -> String {
    let mut text = match &outcome.status {
        RunStatus::Threw { message, stack } => {
            let mut text = format!("threw: {message}\n");
            for frame in stack.iter().flat_map(|stack| stack.lines()) {
                text += &format!("  {}\n", frame.trim());
            }
            text
        }
        status => format!("{status}\n"),
    };
    for line in &outcome.log {
        text += &format!("log: {line}\n");
    }
    if outcome.log_lines_dropped > 0 {
        text += &format!("log lines dropped: {}\n", outcome.log_lines_dropped);
    }
    for call in host.calls.iter().filter(|call| !call.starts_with("log(")) {
        text += &format!("> {call}\n");
    }
    text
}

/// Runs `source` once on the motion sensor with a fresh sandbox and host.
fn check(source: &str, expected: Expect) {
    let mut sandbox = Sandbox::new(limits());
    let mut host = FakeHost::new();
    expected.assert_eq(&run(&mut sandbox, &mut host, source, "sensor-motion", r#"{"SensorValue":"true"}"#));
}

fn check_upload(source: &str, expected: Expect) {
    let text = match Sandbox::check(source, &Limits::default()) {
        Ok(()) => "ok".to_owned(),
        Err(error @ CheckError::NoProcess) => error.to_string(),
        Err(CheckError::Failed(status)) => format!("failed: {status}"),
    };
    expected.assert_eq(&text);
}

/// Our own function with the host API of the occupancy sample's availability function: store the reading, then mark the room available when nobody moves in it and its air is fresh, and notify when it is not.
const AVAILABILITY: &str = r#"
const motionType = "Motion";
const carbonDioxideType = "CarbonDioxide";
const available = "Room is available and air is fresh";
const notAvailable = "Room is not available or air quality is poor";

function process(telemetry, executionContext) {
  const sensor = getSensorMetadata(telemetry.SensorId);
  const reading = JSON.parse(telemetry.Message);
  setSensorValue(telemetry.SensorId, sensor.DataType, reading.SensorValue);
  log(`${sensor.DataType} reads ${reading.SensorValue} (correlation ${executionContext.CorrelationId})`);

  const room = sensor.Space();
  const sensors = room.ChildSensors();
  const motion = sensors.find((other) => other.DataType === motionType);
  const carbonDioxide = sensors.find((other) => other.DataType === carbonDioxideType);
  const presence = motion ? motion.Value().Value : null;
  const ppm = carbonDioxide ? parseFloat(carbonDioxide.Value().Value) : null;
  if (!presence || ppm === null || Number.isNaN(ppm)) {
    sendNotification(telemetry.SensorId, "Sensor", `Error: ${room.Name} has no motion or carbon dioxide reading yet`);
    return;
  }

  if (presence.toLowerCase() !== "true" && ppm < 1000) {
    setSpaceValue(room.Id, "AvailableAndFresh", available);
  } else {
    setSpaceValue(room.Id, "AvailableAndFresh", notAvailable);
    room.Notify(JSON.stringify(notAvailable));
  }
}
"#;

#[test]
fn availability_function_over_the_sample_message_pattern() {
    let mut sandbox = Sandbox::new(limits());
    let mut host = FakeHost::new();
    let mut message = |sensor: &str, value: &str| {
        let message = json!({ "SensorValue": value }).to_string();
        run(&mut sandbox, &mut host, AVAILABILITY, sensor, &message)
    };
    expect![[r#"
        ok
        log: Motion reads false (correlation correlation-1)
        > getSensorMetadata(sensor-motion)
        > setSensorValue(sensor-motion, Motion, "false")
        > getSensorParentSpace(sensor-motion)
        > getSpaceChildSensors(room-a1)
        > getSensorValue(sensor-motion, Motion)
        > getSensorValue(sensor-co2, CarbonDioxide)
        > sendNotification(sensor-motion, Sensor, Error: Focus Room A1 has no motion or carbon dioxide reading yet)
    "#]]
    .assert_eq(&message("sensor-motion", "false"));
    expect![[r#"
        ok
        log: CarbonDioxide reads 850 (correlation correlation-1)
        > getSensorMetadata(sensor-co2)
        > setSensorValue(sensor-co2, CarbonDioxide, "850")
        > getSensorParentSpace(sensor-co2)
        > getSpaceChildSensors(room-a1)
        > getSensorValue(sensor-motion, Motion)
        > getSensorValue(sensor-co2, CarbonDioxide)
        > setSpaceValue(room-a1, AvailableAndFresh, "Room is available and air is fresh")
    "#]]
    .assert_eq(&message("sensor-co2", "850"));
    expect![[r#"
        ok
        log: Motion reads true (correlation correlation-1)
        > getSensorMetadata(sensor-motion)
        > setSensorValue(sensor-motion, Motion, "true")
        > getSensorParentSpace(sensor-motion)
        > getSpaceChildSensors(room-a1)
        > getSensorValue(sensor-motion, Motion)
        > getSensorValue(sensor-co2, CarbonDioxide)
        > setSpaceValue(room-a1, AvailableAndFresh, "Room is not available or air quality is poor")
        > sendNotification(room-a1, Space, "Room is not available or air quality is poor")
    "#]]
    .assert_eq(&message("sensor-motion", "true"));
    expect![[r#"
        ok
        log: CarbonDioxide reads 1050 (correlation correlation-1)
        > getSensorMetadata(sensor-co2)
        > setSensorValue(sensor-co2, CarbonDioxide, "1050")
        > getSensorParentSpace(sensor-co2)
        > getSpaceChildSensors(room-a1)
        > getSensorValue(sensor-motion, Motion)
        > getSensorValue(sensor-co2, CarbonDioxide)
        > setSpaceValue(room-a1, AvailableAndFresh, "Room is not available or air quality is poor")
        > sendNotification(room-a1, Space, "Room is not available or air quality is poor")
    "#]]
    .assert_eq(&message("sensor-co2", "1050"));
    assert_eq!(sandbox.runtimes_created(), 1);
}

#[test]
fn members_and_methods_in_both_casings() {
    check(
        r#"
        function process(telemetry, executionContext) {
          const sensor = getSensorMetadata(telemetry.SensorId);
          log(sensor.DataType, sensor.dataType, sensor.Id, sensor.HardwareId, sensor.PollRate, sensor.port);
          const space = sensor.Space();
          log(space.Id, space.id, space.Name, space.FriendlyName, space.ParentSpaceId, space.SubtypeId);
          log(sensor.space().name, sensor.Device().Name, sensor.device().hardwareId);
          const device = getDeviceMetadata(sensor.DeviceId);
          log(device.Parent().Name, device.ChildSensors().map((s) => s.DataType).join("+"), device.Type);
          log(space.Parent().Name, space.parent().Parent().Name, space.Parent().Parent().Parent());
          log(space.ChildDevices().length, space.childSensors().length, getSpaceChildSpaces("floor-1")[0].Name);
          const co2 = getSensorMetadata("sensor-co2");
          log(co2.Properties[0].Name, co2.properties[0].value, co2.Properties === co2.properties);
          // A member named like a method is left out: `co2.Space()` and `co2.space()` stay methods.
          log(typeof co2.Space, typeof co2.space, co2.space().Name);
          log(space.ExtendedProperty("Capacity").Value, space.extendedProperty("Capacity").name);
          log(getSpaceMetadata("room-a1").Name, getSensorParentDevice("sensor-co2").Id, getDeviceParentSpace("device-a1").Id);
          log(typeof sensor.Value, Object.keys(sensor).join(","));
          log(telemetry.SensorId, telemetry.sensorId, telemetry.Message, executionContext.UserDefinedFunctionId);
          log(executionContext.EnqueuedTime.toISOString(), executionContext.processorReceivedTime instanceof Date);
        }
        "#,
        expect![[r#"
            ok
            log: Motion Motion sensor-motion SAMPLE_SENSOR_MOTION 3600 30
            log: room-a1 room-a1 Focus Room A1 Focus room floor-1 0
            log: Focus Room A1 Raspberry Pi 3 A1 1234567890AB
            log: Focus Room A1 Motion+CarbonDioxide None
            log: Floor 1 Quickstart Building null
            log: 1 2 Focus Room A1
            log: Manufacturer GoodCorp true
            log: function function Focus Room A1
            log: 4 Capacity
            log: Focus Room A1 device-a1 room-a1
            log: function id,Id,dataType,DataType,dataTypeId,DataTypeId,hardwareId,HardwareId,deviceId,DeviceId,spaceId,SpaceId,port,Port,pollRate,PollRate
            log: sensor-motion sensor-motion {"SensorValue":"true"} udf-availability
            log: 2026-11-26T11:59:58.500Z true
            > getSensorMetadata(sensor-motion)
            > getSensorParentSpace(sensor-motion)
            > getSensorParentSpace(sensor-motion)
            > getSensorParentDevice(sensor-motion)
            > getSensorParentDevice(sensor-motion)
            > getDeviceMetadata(device-a1)
            > getDeviceParentSpace(device-a1)
            > getDeviceChildSensors(device-a1)
            > getSpaceParentSpace(room-a1)
            > getSpaceParentSpace(room-a1)
            > getSpaceParentSpace(floor-1)
            > getSpaceParentSpace(room-a1)
            > getSpaceParentSpace(floor-1)
            > getSpaceParentSpace(building)
            > getSpaceChildDevices(room-a1)
            > getSpaceChildSensors(room-a1)
            > getSpaceChildSpaces(floor-1)
            > getSensorMetadata(sensor-co2)
            > getSensorParentSpace(sensor-co2)
            > getSpaceExtendedProperty(room-a1, Capacity)
            > getSpaceExtendedProperty(room-a1, Capacity)
            > getSpaceMetadata(room-a1)
            > getSensorParentDevice(sensor-co2)
            > getDeviceParentSpace(device-a1)
        "#]],
    );
}

#[test]
fn missing_data_values_history_and_notifications() {
    check(
        r#"
        function process(telemetry) {
          const sensor = getSensorMetadata(telemetry.SensorId);
          const before = sensor.Value();
          log(JSON.stringify(before), before.Value === null, !!before.value);
          try { sensor.ExtendedProperty("Manufacturer"); } catch (e) { log("caught", e.message, e instanceof Error); }
          try { getSensorMetadata("nowhere"); } catch (e) { log("caught", e.message); }
          setSensorValue(sensor.Id, sensor.DataType, true);
          setSensorValue(sensor.Id, sensor.DataType, { count: 2, list: [1.5, null] });
          log(JSON.stringify(sensor.value()), sensor.History().map((v) => JSON.stringify(v.Value)).join(" "));
          const room = sensor.Space();
          setSpaceValue(room.Id, "Occupied", "yes");
          setSpaceValue(room.Id, "Occupied", null);
          setSpaceValue(room.Id, "Count", undefined);
          log(room.Value("Occupied").Value, room.History("Occupied").length, getSpaceValue(room.Id, "Nothing").Value);
          log(getSpaceHistoryValues(room.Id, "Occupied")[0].Value, getSensorHistoryValues(sensor.Id, "Motion").length);
          sensor.Notify({ alert: "moved" });
          getDeviceMetadata("device-a1").notify("device says hi");
          sendNotification("room-a1", "space", 42);
          try { sendNotification("room-a1", "Building", "x"); } catch (e) { log("caught", e.message); }
          try { getSpaceMetadata(); } catch (e) { log("caught", e.message); }
          try { room.Notify.call({}, "x"); } catch (e) { log("caught", e.message); }
        }
        "#,
        expect![[r#"
            ok
            log: {"DataType":"Motion","dataType":"Motion","Value":null,"value":null,"Timestamp":null,"timestamp":null,"CreatedTime":null,"createdTime":null} true false
            log: caught Data Not Found true
            log: caught Data Not Found
            log: {"DataType":"Motion","dataType":"Motion","Value":{"count":2,"list":[1.5,null]},"value":{"count":2,"list":[1.5,null]},"Timestamp":"2026-11-26T12:00:01Z","timestamp":"2026-11-26T12:00:01Z","CreatedTime":"2026-11-26T12:00:01Z","createdTime":"2026-11-26T12:00:01Z"} true {"count":2,"list":[1.5,null]}
            log: null 2 null
            log: yes 2
            log: caught sendNotification: the topology object type must be Space, Device or Sensor, not "Building"
            log: caught getSpaceMetadata: argument 1 must be a string
            log: caught Notify: called on something that is not a space
            > getSensorMetadata(sensor-motion)
            > getSensorValue(sensor-motion, Motion)
            > getSensorExtendedProperty(sensor-motion, Manufacturer)
            > getSensorMetadata(nowhere)
            > setSensorValue(sensor-motion, Motion, true)
            > setSensorValue(sensor-motion, Motion, {"count":2,"list":[1.5,null]})
            > getSensorValue(sensor-motion, Motion)
            > getSensorHistoryValues(sensor-motion, Motion)
            > getSensorParentSpace(sensor-motion)
            > setSpaceValue(room-a1, Occupied, "yes")
            > setSpaceValue(room-a1, Occupied, null)
            > setSpaceValue(room-a1, Count, null)
            > getSpaceValue(room-a1, Occupied)
            > getSpaceHistoryValues(room-a1, Occupied)
            > getSpaceValue(room-a1, Nothing)
            > getSpaceHistoryValues(room-a1, Occupied)
            > getSensorHistoryValues(sensor-motion, Motion)
            > sendNotification(sensor-motion, Sensor, {"alert":"moved"})
            > getDeviceMetadata(device-a1)
            > sendNotification(device-a1, Device, device says hi)
            > sendNotification(room-a1, Space, 42)
        "#]],
    );
}

#[test]
fn a_thrown_error_ends_the_run_with_its_message_and_stack() {
    check(
        r#"
        function parse(message) {
          return JSON.parse(message).missing.field;
        }
        function process(telemetry) {
          log("before");
          parse(telemetry.Message);
          log("never");
        }
        "#,
        expect![[r#"
            threw: TypeError: cannot read property 'field' of undefined
              at parse (function.js:3:29)
              at process (function.js:7:17)
            log: before
        "#]],
    );
    check(
        "function process() { throw 'a plain string'; }",
        expect![[r#"
            threw: a plain string
        "#]],
    );
    check(
        "function process() { log({ toJSON() { throw new Error('no text'); } }); }",
        expect![[r#"
            threw: Error: no text
              at toJSON (function.js:1:49)
              at process (function.js:1:21)
        "#]],
    );
    check(
        "function process() { throw { toJSON() { throw new Error('no text'); } }; }",
        expect![[r#"
            threw: an exception that cannot be shown
        "#]],
    );
    check(
        "function process() { throw { code: 7 }; }",
        expect![[r#"
            threw: {"code":7}
        "#]],
    );
    check(
        "async function process() { await null; throw new RangeError('later'); }",
        expect![[r#"
            threw: RangeError: later
              at process (function.js:1:50)
        "#]],
    );
    check(
        "const process = 42;",
        expect![[r#"
            threw: TypeError: process is not a function
        "#]],
    );
}

#[test]
fn a_host_refusal_is_thrown_as_not_authorized() {
    let mut sandbox = Sandbox::new(limits());
    let mut host = FakeHost { denied: true, ..FakeHost::new() };
    expect![[r#"
        threw: Error: Not Authorized
          at process (function.js:1:64)
        > getSensorMetadata(sensor-motion)
    "#]]
    .assert_eq(&run(
        &mut sandbox,
        &mut host,
        "function process(telemetry) { const sensor = getSensorMetadata(telemetry.SensorId); log('never'); }",
        "sensor-motion",
        "{}",
    ));
    expect![[r#"
        ok
        log: Not Authorized
        > getSpaceExtendedProperty(room-a1, Capacity)
    "#]]
    .assert_eq(&run(
        &mut sandbox,
        &mut host,
        "function process() { try { getSpaceExtendedProperty('room-a1', 'Capacity'); } catch (e) { log(e.message); } }",
        "sensor-motion",
        "{}",
    ));
}

#[test]
fn the_time_limit_stops_an_endless_loop_and_the_next_run_works() {
    let mut sandbox = Sandbox::new(Limits::default());
    assert_eq!(sandbox.limits().time_ms, 50);
    let mut host = FakeHost::new();
    // The interrupt is uncatchable: a catch block does not keep the loop alive.
    let endless = "function process() { try { while (true) {} } catch (e) { while (true) {} } }";
    let outcome = run_outcome(&mut sandbox, &mut host, endless, "sensor-motion", "{}");
    assert_eq!(outcome.status, RunStatus::TimedOut);
    assert!(outcome.duration >= Duration::from_millis(50), "{:?}", outcome.duration);
    assert!(outcome.duration < Duration::from_secs(2), "{:?}", outcome.duration);
    expect![[r#"
        ok
        log: after
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, "function process() { log('after'); }", "sensor-motion", "{}"));
    assert_eq!(sandbox.runtimes_created(), 2);

    // A loop in the top level, and one in promise jobs after `process` returned, stop the same way.
    let top_level = "while (true) {} function process() {}";
    assert_eq!(run_outcome(&mut sandbox, &mut host, top_level, "sensor-motion", "{}").status, RunStatus::TimedOut);
    // The spin returns nothing, so its promises do not chain: memory stays flat and only the time limit can end it (a chain of promises would run out of memory first on a slow machine, which is another test's subject).
    let jobs = "function process() { const spin = () => { Promise.resolve().then(spin); }; spin(); }";
    assert_eq!(run_outcome(&mut sandbox, &mut host, jobs, "sensor-motion", "{}").status, RunStatus::TimedOut);
    assert_eq!(sandbox.runtimes_created(), 3);
}

#[test]
fn the_memory_limit_stops_a_memory_bomb_and_the_next_run_works() {
    // Filling 16 MiB takes tens of milliseconds in a debug build: a longer time limit keeps this about memory.
    let mut sandbox = Sandbox::new(Limits { time_ms: 5_000, ..limits() });
    let mut host = FakeHost::new();
    let bombs = [
        "function process() { const kept = []; while (true) kept.push(new Array(100000).fill(kept.length)); }",
        "function process() { const kept = []; for (let i = 0; ; i++) kept.push('x'.repeat(1 << 16) + i); }",
        "function process() { const kept = []; while (true) kept.push({ a: kept.length, b: [kept.length] }); }",
    ];
    for bomb in bombs {
        let outcome = run_outcome(&mut sandbox, &mut host, bomb, "sensor-motion", "{}");
        assert_eq!(outcome.status, RunStatus::OutOfMemory, "{bomb}");
        expect![[r#"
            ok
            log: after
        "#]]
        .assert_eq(&run(&mut sandbox, &mut host, "function process() { log('after'); }", "sensor-motion", "{}"));
    }
    assert_eq!(sandbox.runtimes_created(), 4);
}

#[test]
fn deep_recursion_stops_with_a_stack_overflow() {
    let mut sandbox = Sandbox::new(limits());
    let mut host = FakeHost::new();
    let recursion = "function down(n) { return down(n + 1) + 1; } function process() { down(0); }";
    assert_eq!(run_outcome(&mut sandbox, &mut host, recursion, "sensor-motion", "{}").status, RunStatus::StackOverflow);
    // Recursion through the host's methods is bounded the same way.
    let through_host = "function up(space) { return up(space.Parent() || space); } function process(t) { up(getSensorMetadata(t.SensorId).Space()); }";
    let outcome = run_outcome(&mut sandbox, &mut host, through_host, "sensor-motion", "{}");
    assert_eq!(outcome.status, RunStatus::StackOverflow);
    expect![[r#"
        ok
        log: after
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, "function process() { log('after'); }", "sensor-motion", "{}"));
    assert_eq!(sandbox.runtimes_created(), 3);
}

#[test]
fn runs_do_not_share_state() {
    let mut sandbox = Sandbox::new(limits());
    let mut host = FakeHost::new();
    let polluting = r#"
        var counter = (typeof counter === "number" ? counter : 0) + 1;
        globalThis.leaked = "from the first run";
        Object.prototype.polluted = true;
        Array.prototype.map = function () { return "hijacked"; };
        getSensorMetadata = function () { return "fake"; };
        function process() { undeclared = 42; log(counter, leaked, [].polluted, [1].map((x) => x)); }
    "#;
    let observing = r#"
        function process(telemetry) {
          log(typeof counter, typeof leaked, typeof undeclared, [].polluted, [1].map((x) => x * 2));
          log(getSensorMetadata(telemetry.SensorId).DataType);
        }
    "#;
    expect![[r#"
        ok
        log: 1 from the first run true hijacked
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, polluting, "sensor-motion", "{}"));
    expect![[r#"
        ok
        log: 1 from the first run true hijacked
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, polluting, "sensor-motion", "{}"));
    expect![[r#"
        ok
        log: undefined undefined undefined undefined [2]
        log: Motion
        > getSensorMetadata(sensor-motion)
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, observing, "sensor-motion", "{}"));
    assert_eq!(sandbox.runtimes_created(), 1);
}

#[test]
fn the_clock_is_frozen_and_nothing_outside_the_library_is_reachable() {
    check(
        r#"
        function process(telemetry, executionContext) {
          const start = Date.now();
          for (let i = 0; i < 100000; i++) {}
          log(start, Date.now() === start, new Date().toISOString(), new Date().getTime() === start);
          // `Date()` and local-time methods follow the machine's time zone; compare them, do not print them.
          log(Date() === new Date(start).toString(), new Date() instanceof Date, new Date(0).toISOString());
          log(Date.parse("2018-10-03T00:00:00Z"), Date.UTC(2018, 9, 3), Date.prototype.constructor === Date);
          class Stamp extends Date {}
          log(new Stamp().getTime() === start, new Stamp() instanceof Stamp);
          log(executionContext.ProcessorReceivedTime.getTime() === start);
          const globals = ["os", "std", "print", "console", "performance", "setTimeout", "require", "fetch", "XMLHttpRequest", "WebAssembly", "atob", "scriptArgs"];
          log(globals.map((name) => name + ":" + typeof globalThis[name]).join(" "));
          log(Object.keys(globalThis).join(","));
          import("os").then(() => log("imported"), (e) => log("no import:", String(e)));
        }
        "#,
        expect![[r#"
            ok
            log: 1795694400000 true 2026-11-26T12:00:00.000Z true
            log: true true 1970-01-01T00:00:00.000Z
            log: 1538524800000 1538524800000 true
            log: true true
            log: true
            log: os:undefined std:undefined print:undefined console:undefined performance:undefined setTimeout:undefined require:undefined fetch:undefined XMLHttpRequest:undefined WebAssembly:undefined atob:undefined scriptArgs:undefined
            log: process
            log: no import: ReferenceError: could not load module 'os'
        "#]],
    );
}

#[test]
fn log_lines_are_bounded() {
    let mut sandbox = Sandbox::new(Limits { log_lines_max: 2, log_line_bytes_max: 12, ..limits() });
    let mut host = FakeHost::new();
    let source = "function process() { log('short'); log('é'.repeat(10)); log('dropped'); log('dropped too'); }";
    expect![[r#"
        ok
        log: short
        log: éééé…
        log lines dropped: 2
    "#]]
    .assert_eq(&run(&mut sandbox, &mut host, source, "sensor-motion", "{}"));
    assert_eq!(host.calls, ["log(short)", "log(éééé…)"]);
}

#[test]
fn upload_check() {
    check_upload("function process(telemetry, executionContext) {}", expect!["ok"]);
    check_upload("var process = (telemetry) => telemetry;", expect!["ok"]);
    check_upload(
        "function process(telemetry {\n}",
        expect!["failed: SyntaxError: Unexpected token '{' (at function.js:1:28)"],
    );
    check_upload(
        "function handle(telemetry) {}",
        expect!["the function defines no `process(telemetry, executionContext)` function"],
    );
    check_upload("while (true) {}", expect!["failed: timed out"]);
    check_upload(
        "const space = getSpaceMetadata('room'); function process() {}",
        expect![
            "failed: Error: host calls are not available while a function is checked (at <eval> (function.js:1:14))"
        ],
    );
}
