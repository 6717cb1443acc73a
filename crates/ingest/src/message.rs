//! `Telemetry`, one message of a device, read from where the transport carries its properties: the IoT-Hub-style MQTT topic with its URL-encoded property bag (plus MQTT 5 user properties), or HTTP headers.
//!
//! The properties of the 2018 service are found ignoring ASCII case (HTTP headers have no case, and the device SDKs spell them one way): `DigitalTwins-Telemetry` must be `1.0`, `DigitalTwins-SensorHardwareId` names the sensor, `CreationTimeUtc` and `CorrelationId` are optional (IoT Hub's `$.cid` stands for `CorrelationId` when it is absent).
//! Every property is kept, in the order given, known or not (`x-ms-client-request-id` and the like), so later stages and events see what the device sent.
//! What the body means (JSON with `SensorValue`, text) is the telemetry stage's business, and so is whether the hardware id names a sensor; this file checks only the message's shape and limits.

use crate::Limits;
use crate::percent;

/// The property that marks a message as telemetry of the 2018 service.
pub const TELEMETRY_PROPERTY: &str = "DigitalTwins-Telemetry";
/// The only version of `DigitalTwins-Telemetry` there is.
pub const TELEMETRY_VERSION: &str = "1.0";
/// The property naming the sensor by its hardware id.
pub const HARDWARE_ID_PROPERTY: &str = "DigitalTwins-SensorHardwareId";
/// When the device sampled the value (ISO 8601); optional.
pub const CREATION_TIME_PROPERTY: &str = "CreationTimeUtc";
/// A GUID for tracing; optional.
pub const CORRELATION_ID_PROPERTY: &str = "CorrelationId";
/// IoT Hub's system property for the correlation id, as its SDKs put it in the topic.
const SYSTEM_CORRELATION_ID: &str = "$.cid";

/// One telemetry message of a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Telemetry {
    /// The device that sent it: the topic's `{deviceId}`, or the device an HTTP request authenticated as.
    pub device_id: String,
    /// `DigitalTwins-SensorHardwareId`: which of the device's sensors the value is for.
    pub hardware_id: String,
    /// `CreationTimeUtc` as given, when given; the stage that stores the value parses it.
    pub creation_time: Option<String>,
    /// `CorrelationId` (or `$.cid`), when given.
    pub correlation_id: Option<String>,
    /// Every property, in the order given, the ones above included.
    pub properties: Vec<(String, String)>,
    /// The payload, as sent.
    pub body: Vec<u8>,
}

/// Why a message is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// The topic is not a telemetry topic: the sender published where devices send nothing.
    #[error("the topic is not a telemetry topic `devices/{{deviceId}}/messages/events/{{properties}}`: {reason}")]
    InvalidTopic { reason: String },
    /// The message lacks a property or has one with a wrong value.
    #[error("{reason}")]
    InvalidInput { reason: String },
    #[error("the {what} is {actual}, more than the limit of {limit}")]
    LimitExceeded { what: &'static str, limit: usize, actual: usize },
}

/// What a telemetry topic says: whose it is and the properties in its bag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topic {
    pub device_id: String,
    pub properties: Vec<(String, String)>,
}

/// Reads `devices/{deviceId}/messages/events/{url-encoded property bag}`, with or without the bag and with or without a `/` after it.
pub fn parse_topic(topic: &str) -> Result<Topic, TelemetryError> {
    let invalid = |reason: &str| TelemetryError::InvalidTopic { reason: reason.to_owned() };
    let rest = topic.strip_prefix("devices/").ok_or_else(|| invalid("it does not start with `devices/`"))?;
    let (device_id, rest) = rest.split_once('/').ok_or_else(|| invalid("it has no `/messages/events` part"))?;
    if device_id.is_empty() {
        return Err(invalid("its device id is empty"));
    }
    let bag = rest.strip_prefix("messages/events").ok_or_else(|| invalid("it has no `/messages/events` part"))?;
    let bag = match bag {
        "" => "",
        bag => bag.strip_prefix('/').ok_or_else(|| invalid("`messages/events` is followed by more than a `/`"))?,
    };
    let bag = bag.strip_suffix('/').unwrap_or(bag);
    if bag.contains('/') {
        return Err(invalid("its property bag has a `/`; property names and values are URL-encoded"));
    }
    let mut properties = Vec::new();
    for item in bag.split('&').filter(|item| !item.is_empty()) {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        let decode = |text: &str| {
            percent::decode(text)
                .map_err(|err| invalid(&format!("its property bag item `{item}` is not URL-encoded: {err}")))
        };
        let name = decode(name)?;
        if name.is_empty() {
            return Err(invalid(&format!("its property bag item `{item}` has no name")));
        }
        properties.push((name, decode(value)?));
    }
    Ok(Topic { device_id: device_id.to_owned(), properties })
}

impl Telemetry {
    /// A message published on `topic` with MQTT 5 `user_properties` (none for MQTT 3.1.1), which add to the topic's bag.
    pub fn from_mqtt(
        topic: &str,
        user_properties: Vec<(String, String)>,
        body: Vec<u8>,
        limits: &Limits,
    ) -> Result<Telemetry, TelemetryError> {
        let Topic { device_id, mut properties } = parse_topic(topic)?;
        properties.extend(user_properties);
        Telemetry::from_properties(device_id, properties, body, limits)
    }

    /// A message of `device_id` with its properties given apart from the body (HTTP headers, or a topic already read).
    pub fn from_properties(
        device_id: String,
        properties: Vec<(String, String)>,
        body: Vec<u8>,
        limits: &Limits,
    ) -> Result<Telemetry, TelemetryError> {
        check_limit("body in bytes", limits.payload_bytes_max, body.len())?;
        check_limit("number of properties", limits.properties_max, properties.len())?;
        let version = known(&properties, TELEMETRY_PROPERTY)?.ok_or_else(|| TelemetryError::InvalidInput {
            reason: format!(
                "the message has no `{TELEMETRY_PROPERTY}` property; telemetry carries `{TELEMETRY_PROPERTY}=1.0`"
            ),
        })?;
        if version != TELEMETRY_VERSION {
            return Err(TelemetryError::InvalidInput {
                reason: format!("`{TELEMETRY_PROPERTY}` is `{version}`; the only version is `{TELEMETRY_VERSION}`"),
            });
        }
        let hardware_id = known(&properties, HARDWARE_ID_PROPERTY)?.ok_or_else(|| TelemetryError::InvalidInput {
            reason: format!("the message has no `{HARDWARE_ID_PROPERTY}` property naming its sensor"),
        })?;
        check_limit("sensor hardware id in characters", limits.hardware_id_chars_max, hardware_id.chars().count())?;
        let creation_time = known(&properties, CREATION_TIME_PROPERTY)?.map(str::to_owned);
        let correlation_id = match known(&properties, CORRELATION_ID_PROPERTY)? {
            Some(id) => Some(id.to_owned()),
            None => known(&properties, SYSTEM_CORRELATION_ID)?.map(str::to_owned),
        };
        let hardware_id = hardware_id.to_owned();
        Ok(Telemetry { device_id, hardware_id, creation_time, correlation_id, properties, body })
    }

    /// The value of the property `name` (ignoring ASCII case); the last one when it is given more than once.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The one non-empty value of a known property; the same property given twice with different values is refused, since which one counts would be a guess.
fn known<'p>(properties: &'p [(String, String)], name: &str) -> Result<Option<&'p str>, TelemetryError> {
    let mut values = properties.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let Some(first) = values.next() else { return Ok(None) };
    if values.any(|other| other != first) {
        return Err(TelemetryError::InvalidInput { reason: format!("`{name}` is given twice with different values") });
    }
    Ok(Some(first).filter(|v| !v.is_empty()))
}

fn check_limit(what: &'static str, limit: usize, actual: usize) -> Result<(), TelemetryError> {
    if actual > limit {
        return Err(TelemetryError::LimitExceeded { what, limit, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::Telemetry;
    use crate::Limits;

    /// The message published on `topic` with `user` properties and `body`, or why it is refused.
    fn check(topic: &str, user: &[(&str, &str)], body: &str, expect: Expect) {
        expect.assert_eq(&shown(topic, user, body));
    }

    fn shown(topic: &str, user: &[(&str, &str)], body: &str) -> String {
        let user = user.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        let limits = Limits { payload_bytes_max: 32, hardware_id_chars_max: 12, properties_max: 6 };
        match Telemetry::from_mqtt(topic, user, body.as_bytes().to_vec(), &limits) {
            Ok(Telemetry { device_id, hardware_id, creation_time, correlation_id, properties, body }) => {
                let properties: Vec<String> = properties.iter().map(|(n, v)| format!("{n}={v}")).collect();
                format!(
                    "device {device_id}, sensor {hardware_id}, created {creation_time:?}, correlation {correlation_id:?}\nproperties {}\nbody {:?}",
                    properties.join(" | "),
                    String::from_utf8_lossy(&body)
                )
            }
            Err(err) => format!("refused: {err}"),
        }
    }

    #[test]
    fn the_sample_device_topic() {
        // The occupancy sample's device sends these properties through the C# SDK, which URL-encodes the bag.
        check(
            "devices/dev-1/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId=MOTION_A1&CreationTimeUtc=2018-09-20T07%3A35%3A00.8587882-07%3A00&x-ms-client-request-id=6f1a%2Fb2/",
            &[],
            r#"{"SensorValue":"true"}"#,
            expect![[r#"
                device dev-1, sensor MOTION_A1, created Some("2018-09-20T07:35:00.8587882-07:00"), correlation None
                properties DigitalTwins-Telemetry=1.0 | DigitalTwins-SensorHardwareId=MOTION_A1 | CreationTimeUtc=2018-09-20T07:35:00.8587882-07:00 | x-ms-client-request-id=6f1a/b2
                body "{\"SensorValue\":\"true\"}""#]],
        );
    }

    #[test]
    fn trailing_slash_and_bag_are_optional_and_user_properties_add_to_the_bag() {
        let from_bag = shown(
            "devices/d/messages/events/digitaltwins-telemetry=1.0&DIGITALTWINS-SENSORHARDWAREID=HW&%24.cid=c-1",
            &[],
            "21",
        );
        expect![[r#"
            device d, sensor HW, created None, correlation Some("c-1")
            properties digitaltwins-telemetry=1.0 | DIGITALTWINS-SENSORHARDWAREID=HW | $.cid=c-1
            body "21""#]]
        .assert_eq(&from_bag);
        let from_user_properties = shown(
            "devices/d/messages/events",
            &[("digitaltwins-telemetry", "1.0"), ("DIGITALTWINS-SENSORHARDWAREID", "HW"), ("$.cid", "c-1")],
            "21",
        );
        assert_eq!(from_user_properties, from_bag);
        let from_both = shown(
            "devices/d/messages/events/digitaltwins-telemetry=1.0&DIGITALTWINS-SENSORHARDWAREID=HW/",
            &[("$.cid", "c-1")],
            "21",
        );
        assert_eq!(from_both, from_bag);
        check(
            "devices/d/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId=HW&CorrelationId=mine&%24.cid=hub",
            &[],
            "",
            expect![[r#"
                device d, sensor HW, created None, correlation Some("mine")
                properties DigitalTwins-Telemetry=1.0 | DigitalTwins-SensorHardwareId=HW | CorrelationId=mine | $.cid=hub
                body """#]],
        );
    }

    #[test]
    fn refusals() {
        let bag = "DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId=HW";
        /// A topic, MQTT 5 user properties and a body.
        type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
        let cases: Vec<Case> = vec![
            ("devices/d/messages/devicebound/x".into(), vec![], ""),
            ("$iothub/twin/GET/?$rid=1".into(), vec![], ""),
            ("devices//messages/events/".into(), vec![], ""),
            ("devices/d/messages/eventsX".into(), vec![], ""),
            ("devices/d/messages/events/a=b/c=d".into(), vec![], ""),
            ("devices/d/messages/events/a=%zz".into(), vec![], ""),
            ("devices/d/messages/events/=b".into(), vec![], ""),
            ("devices/d/messages/events/DigitalTwins-SensorHardwareId=HW".into(), vec![], ""),
            (
                "devices/d/messages/events/DigitalTwins-Telemetry=2.0&DigitalTwins-SensorHardwareId=HW".into(),
                vec![],
                "",
            ),
            ("devices/d/messages/events/DigitalTwins-Telemetry=1.0".into(), vec![], ""),
            ("devices/d/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId=".into(), vec![], ""),
            (format!("devices/d/messages/events/{bag}"), vec![("DigitalTwins-SensorHardwareId", "OTHER")], ""),
            (format!("devices/d/messages/events/{bag}"), vec![], "a body of more than thirty-two bytes"),
            (
                "devices/d/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId=THIRTEEN-CHAR"
                    .into(),
                vec![],
                "",
            ),
            (format!("devices/d/messages/events/{bag}&a=1&b=2&c=3&d=4&e=5"), vec![], ""),
        ];
        let limits = Limits { payload_bytes_max: 32, hardware_id_chars_max: 12, properties_max: 6 };
        let verdicts: Vec<String> = cases
            .into_iter()
            .map(|(topic, user, body)| {
                let user = user.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
                match Telemetry::from_mqtt(&topic, user, body.as_bytes().to_vec(), &limits) {
                    Ok(message) => format!("accepted: {message:?}"),
                    Err(err) => err.to_string(),
                }
            })
            .collect();
        expect![[r#"
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: it has no `/messages/events` part
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: it does not start with `devices/`
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: its device id is empty
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: `messages/events` is followed by more than a `/`
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: its property bag has a `/`; property names and values are URL-encoded
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: its property bag item `a=%zz` is not URL-encoded: `%` is not followed by two hexadecimal digits
            the topic is not a telemetry topic `devices/{deviceId}/messages/events/{properties}`: its property bag item `=b` has no name
            the message has no `DigitalTwins-Telemetry` property; telemetry carries `DigitalTwins-Telemetry=1.0`
            `DigitalTwins-Telemetry` is `2.0`; the only version is `1.0`
            the message has no `DigitalTwins-SensorHardwareId` property naming its sensor
            the message has no `DigitalTwins-SensorHardwareId` property naming its sensor
            `DigitalTwins-SensorHardwareId` is given twice with different values
            the body in bytes is 36, more than the limit of 32
            the sensor hardware id in characters is 13, more than the limit of 12
            the number of properties is 7, more than the limit of 6"#]]
        .assert_eq(&verdicts.join("\n"));
    }
}
