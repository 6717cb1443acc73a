// The demo building's user-defined function: the availability function of the 2018 occupancy sample.
// It runs for every Motion and CarbonDioxide reading in the building (its matchers select those sensors),
// records the reading as the sensor's value, and sets the room's `AvailableAndFresh` space value:
// available when nobody moves in the room and its air holds less than 1000 ppm of CO2.
// A room that is not available is announced (`Notify`, a UdfCustom event); a missing reading too (`sendNotification`).

const CO2_PPM_MAX = 1000;
const AVAILABLE = "Room is available and air is fresh";
const NOT_AVAILABLE = "Room is not available or air quality is poor";

// The latest value of a sensor, or null when it has none (or there is no such sensor).
function reading(sensor) {
    const value = sensor ? sensor.Value() : null;
    return value ? value.Value : null;
}

function process(telemetry, executionContext) {
    const sensor = getSensorMetadata(telemetry.SensorId);
    setSensorValue(telemetry.SensorId, sensor.DataType, JSON.parse(telemetry.Message).SensorValue);
    const room = sensor.Space();
    const sensors = room.ChildSensors();
    const motion = sensors.find((s) => s.DataType === "Motion");
    const co2 = sensors.find((s) => s.DataType === "CarbonDioxide");
    const presence = reading(motion);
    const level = reading(co2);
    if (presence == null || level == null) {
        sendNotification(telemetry.SensorId, "Sensor", "Error: a reading is missing");
        return;
    }
    if (String(presence).toLowerCase() !== "true" && parseFloat(level) < CO2_PPM_MAX) {
        setSpaceValue(room.Id, "AvailableAndFresh", AVAILABLE);
    } else {
        setSpaceValue(room.Id, "AvailableAndFresh", NOT_AVAILABLE);
        room.Notify(JSON.stringify(NOT_AVAILABLE));
    }
}
