//! Telemetry decoding, pure: what a device sends, read into a `Telemetry` message, and the credentials it connects with, checked.
//!
//! `message` reads the IoT-Hub-style topic `devices/{deviceId}/messages/events/{property bag}`, MQTT 5 user properties and HTTP header properties into one `Telemetry` (the 2018 service's message properties: `DigitalTwins-Telemetry`, `DigitalTwins-SensorHardwareId`, `CreationTimeUtc`, `CorrelationId`, and any other kept as given), within `Limits`.
//! `sas` reads the IoT Hub MQTT username and checks IoT Hub device SAS tokens against a device key at a time passed in.
//! `percent` is the URL encoding both use.
//! This crate opens no socket, reads no clock and knows no MQTT wire format: the server's listener decodes packets with an MQTT codec and hands topics, properties and bodies here; finding the sensor and storing the value is the server's telemetry stage.

pub mod message;
pub mod percent;
pub mod sas;

pub use message::{Telemetry, TelemetryError};
pub use sas::{DeviceToken, SasError, Username};

/// What one telemetry message may hold; inputs over a limit are refused where they arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a message's body; default 256 KiB, the 2018 service's limit.
    pub payload_bytes_max: usize,
    /// Characters of `DigitalTwins-SensorHardwareId`; default 72, the 2018 service's limit.
    pub hardware_id_chars_max: usize,
    /// Properties of one message (the bag, user properties or headers together); default 64.
    pub properties_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { payload_bytes_max: 256 * 1024, hardware_id_chars_max: 72, properties_max: 64 }
    }
}
