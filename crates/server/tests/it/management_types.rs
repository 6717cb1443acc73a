//! The 2018 management face's extended types, ontologies and `system/*` lists end to end over HTTP, on the embedded store: listing and filtering the catalogue, custom types on spaces and where they are visible, system types disabled by hand, ontologies loaded and unloaded (and still so after a restart), and the error answers.
//!
//! Spaces are made through the data plane (the built-in models uploaded, then twins of `dtmi:twinscape:Space;1` joined by `contains`), so these tests depend on no other module of the 2018 face.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::{Reply, TestServer, start_shipped, start_shipped_in};

const BASE: &str = "/management/api/v1.0";
const V: &str = "api-version=2023-10-31";

/// The id of the first custom type a tenant creates.
const FIRST_CUSTOM: u32 = 1_000_000;

/// A request to the management face; `path` is relative to its base.
async fn call(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> Reply {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    server.send(method, &format!("{BASE}/{path}"), headers, body.map(|b| b.to_string().into_bytes())).await
}

/// A request to the data plane.
async fn data_plane(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> Reply {
    let sep = if path.contains('?') { '&' } else { '?' };
    let content_type = if method == "PATCH" { "application/json-patch+json" } else { "application/json" };
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", content_type)] } else { &[] };
    server.send(method, &format!("{path}{sep}{V}"), headers, body.map(|b| b.to_string().into_bytes())).await
}

/// Status, error code and body as the server sent them.
fn check(reply: &Reply, expect: Expect) {
    expect.assert_eq(&reply.render(&["x-ms-error-code"]));
}

/// Status, then one line per item of a JSON array body (compact JSON), for lists too wide for one line.
fn check_lines(reply: &Reply, expect: Expect) {
    expect.assert_eq(&lines(reply));
}

fn lines(reply: &Reply) -> String {
    let mut out = format!("{}\n", reply.status);
    match serde_json::from_str::<Value>(&reply.body) {
        Ok(Value::Array(items)) => {
            for item in items {
                out.push_str(&format!("{item}\n"));
            }
        }
        _ => out.push_str(&reply.body),
    }
    out
}

/// Status, the number of items, and `id name` of the first `shown` items of a list (`disabled` flagged), for long lists.
fn summary(reply: &Reply, shown: usize) -> String {
    let items: Vec<Value> = serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("a JSON list: {}", reply.body));
    let mut out = format!("{} ({} items)\n", reply.status, items.len());
    for item in items.iter().take(shown) {
        let disabled = if item["disabled"] == true { " (disabled)" } else { "" };
        out.push_str(&format!("{} {}{disabled}\n", item["id"], item["name"].as_str().unwrap_or("?")));
    }
    out
}

fn body(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("a JSON body: {}", reply.body))
}

/// The built-in models, and the spaces `campus` ⊃ `building` ⊃ `floor` and a second root `other`.
async fn seed_spaces(server: &TestServer) {
    let models: Vec<Value> = ontology::documents()
        .iter()
        .map(|d| serde_json::from_str(&d.text).expect("the built-in models are JSON"))
        .collect();
    let reply = data_plane(server, "POST", "/models", Some(Value::Array(models))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    for (id, parent) in [("campus", None), ("building", Some("campus")), ("floor", Some("building")), ("other", None)] {
        put_space(server, id, parent, json!({})).await;
    }
}

/// A space twin with `extra` properties, contained in `parent`.
async fn put_space(server: &TestServer, id: &str, parent: Option<&str>, extra: Value) {
    let mut twin = json!({"$metadata": {"$model": ontology::SPACE}, "name": id});
    if let (Some(twin), Value::Object(extra)) = (twin.as_object_mut(), extra) {
        twin.extend(extra);
    }
    let reply = data_plane(server, "PUT", &format!("/digitaltwins/{id}"), Some(twin)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    if let Some(parent) = parent {
        let relationship = json!({"$targetId": id, "$relationshipName": "contains"});
        let path = format!("/digitaltwins/{parent}/relationships/{parent}-contains-{id}");
        let reply = data_plane(server, "PUT", &path, Some(relationship)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[tokio::test]
async fn system_lists() {
    let server = start_shipped().await;
    let mut out = String::new();
    for path in [
        "system/devices/statuses",
        "system/extendedtypes/categories",
        "system/extendedpropertykeys/scopes",
        "system/matchers/conditions/comparisons",
        "system/matchers/conditions/targets",
        "system/spacesresources/regions",
        "system/spacesresources/sizes",
        "system/spacesresources/statuses",
        "system/timezones",
    ] {
        let reply = call(&server, "GET", path, None).await;
        out.push_str(&format!("{path}: {}", summary(&reply, 3)));
    }
    expect![[r#"
        system/devices/statuses: 200 (4 items)
        1 Provisioned
        2 Active
        3 Offline
        system/extendedtypes/categories: 200 (16 items)
        1 SpaceType
        2 SpaceSubtype
        3 SpaceStatus
        system/extendedpropertykeys/scopes: 200 (4 items)
        1 Spaces
        2 Sensors
        3 Users
        system/matchers/conditions/comparisons: 200 (3 items)
        1 Equals
        2 NotEquals
        3 Contains
        system/matchers/conditions/targets: 200 (3 items)
        1 Sensor
        2 SensorDevice
        3 SensorSpace
        system/spacesresources/regions: 200 (27 items)
        1 WestUS
        2 WestUS2
        3 CentralUSEUAP
        system/spacesresources/sizes: 200 (6 items)
        1 XS
        2 S
        3 M
        system/spacesresources/statuses: 200 (5 items)
        1 None
        2 Provisioning
        3 Running
        system/timezones: 200 (72 items)
        1 Dateline Standard Time
        2 UTC-11
        3 Hawaiian Standard Time
    "#]]
    .assert_eq(&out);

    // Time zone ids are what spaces store: a few well-known ones are pinned here.
    let zones = body(&call(&server, "GET", "system/timezones/", None).await);
    let zone =
        |name: &str| zones.as_array().and_then(|z| z.iter().find(|z| z["name"] == name)).map(|z| z["id"].clone());
    expect![[r#"[Some(Number(6)), Some(Number(29)), Some(Number(33))]"#]]
        .assert_eq(&format!("{:?}", [zone("Pacific Standard Time"), zone("UTC"), zone("W. Europe Standard Time")]));

    let roles = call(&server, "GET", "system/roles", None).await;
    let roles = body(&roles);
    let listed: Vec<String> = roles
        .as_array()
        .expect("a list of roles")
        .iter()
        .map(|r| {
            assert_eq!(
                (&r["accessControlPath"], &r["friendlyPath"], &r["accessControlType"]),
                (&json!("/system"), &json!("/system"), &json!("System"))
            );
            let grants: Vec<String> = r["permissions"]
                .as_array()
                .expect("permissions")
                .iter()
                .map(|p| {
                    p["actions"]
                        .as_array()
                        .expect("actions")
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("+")
                })
                .collect();
            format!("{} {} [{}]", r["id"].as_str().unwrap_or("?"), r["name"].as_str().unwrap_or("?"), grants.join(", "))
        })
        .collect();
    expect![[r#"
        98e44ad7-28d4-4007-853b-b9968ad132d1 SpaceAdministrator [Read+Create+Update+Delete]
        dfaac54c-f583-4dd2-b45d-8d4bbc0aa1ac UserAdministrator [Read+Create+Update+Delete, Read]
        3cdfde07-bc16-40d9-bed3-66d49a8f52ae DeviceAdministrator [Read+Create+Update+Delete, Read]
        5a0b1afc-e118-4068-969f-b50efb8e5da6 KeyAdministrator [Read+Create+Update+Delete, Read]
        38a3bb21-5424-43b4-b0bf-78ee228840c3 TokenAdministrator [Read+Update, Read]
        b1ffdb77-c635-4e7e-ad25-948237d85b30 User [Read]
        6e46958b-dc62-4e7c-990c-c3da2e030969 SupportSpecialist [Read]
        b16dd9fe-4efe-467b-8c8c-720e2ff8817c DeviceInstaller [Read+Update, Read]
        d4c69766-e9bd-4e61-bfc1-d8b6e686c7a8 GatewayDevice [Create, Read]"#]]
    .assert_eq(&listed.join("\n"));
    // The one definition the 2018 documentation shows in full is reproduced as it was.
    expect![[r#"{"id":"3cdfde07-bc16-40d9-bed3-66d49a8f52ae","name":"DeviceAdministrator","permissions":[{"notActions":[],"actions":["Read","Create","Update","Delete"],"condition":"@Resource.Type Any_of {'Device', 'DeviceBlobMetadata', 'DeviceExtendedProperty', 'Sensor', 'SensorBlobMetadata', 'SensorExtendedProperty'} || ( @Resource.Type == 'ExtendedType' && (!Exists @Resource.Category || @Resource.Category Any_of { 'DeviceSubtype', 'DeviceType', 'DeviceBlobType', 'DeviceBlobSubtype', 'SensorBlobSubtype', 'SensorBlobType', 'SensorDataSubtype', 'SensorDataType', 'SensorDataUnitType', 'SensorPortType', 'SensorType' } ) )"},{"notActions":[],"actions":["Read"],"condition":"@Resource.Type == 'Space' && @Resource.Category == 'WithoutSpecifiedRbacResourceTypes' || @Resource.Type Any_of {'ExtendedPropertyKey', 'SpaceExtendedProperty', 'SpaceBlobMetadata', 'SpaceResource', 'Matcher'}"}],"accessControlPath":"/system","friendlyPath":"/system","accessControlType":"System"}"#]]
    .assert_eq(&roles[2].to_string());
    server.stop().await;
}

#[tokio::test]
async fn lists_and_filters_system_types() {
    let server = start_shipped().await;
    let all = call(&server, "GET", "types", None).await;
    let all = body(&all);
    let count = all.as_array().map_or(0, Vec::len);
    assert_eq!(count, ontology::catalogue().types().len(), "every system type, and no custom type yet");

    check_lines(
        &call(&server, "GET", "types?categories=spacetype;spacesubtype&names=Tenant,ROOM,Classroom", None).await,
        expect![[r#"
            200
            {"id":10001,"category":"SpaceType","name":"Tenant","friendlyName":"Tenant","logicalOrder":1,"disabled":false,"spaceId":null}
            {"id":11008,"category":"SpaceType","name":"Room","friendlyName":"Room","logicalOrder":10,"disabled":false,"spaceId":null}
            {"id":22000,"category":"SpaceSubtype","name":"Classroom","friendlyName":"Classroom","logicalOrder":33,"disabled":true,"spaceId":null}
        "#]],
    );
    check_lines(
        &call(&server, "GET", "types/?ids=11008&includes=description,ontologies,space,fullpath", None).await,
        expect![[r#"
            200
            {"id":11008,"category":"SpaceType","name":"Room","friendlyName":"Room","logicalOrder":10,"disabled":false,"spaceId":null,"description":null,"ontologies":[{"id":2,"name":"Default","loaded":true,"description":"Generic names for spaces, devices, sensors, their data and units, and blobs."},{"id":3,"name":"Building","loaded":false,"description":"Spaces, equipment and statuses of buildings: offices, schools, hospitals, venues, hotels, shops and parking."}],"space":null,"spacePaths":[]}
        "#]],
    );
    expect![[r#"
        200 (2 items)
        110000 None
        111000 Motion
    "#]]
    .assert_eq(&summary(&call(&server, "GET", "types?categories=SensorDataType&disabled=false&$top=2", None).await, 5));
    // OData runs last, over the shape returned.
    check_lines(
        &call(
            &server,
            "GET",
            "types?categories=SensorDataType&$filter=startswith(name,'Temp')&$orderby=name%20desc&$top=3",
            None,
        )
        .await,
        expect![[r#"
            200
            {"id":111001,"category":"SensorDataType","name":"Temperature","friendlyName":"Temperature","logicalOrder":2,"disabled":false,"spaceId":null}
            {"id":111033,"category":"SensorDataType","name":"Temp","friendlyName":"Temp","logicalOrder":34,"disabled":true,"spaceId":null}
        "#]],
    );
    check(&call(&server, "GET", "types?system=false", None).await, expect!["200\n[]"]);
    check(
        &call(&server, "GET", "types/10001", None).await,
        expect![[r#"
        200
        {"id":10001,"category":"SpaceType","name":"Tenant","friendlyName":"Tenant","logicalOrder":1,"disabled":false,"spaceId":null}"#]],
    );

    // Errors.
    check(
        &call(&server, "GET", "types?categories=SpaceType,Nope", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`categories` has `Nope`; the categories are SpaceType, SpaceSubtype, SpaceStatus, SpaceBlobType, SpaceBlobSubtype, DeviceType, DeviceSubtype, DeviceBlobType, DeviceBlobSubtype, SensorType, SensorDataType, SensorDataSubtype, SensorDataUnitType, SensorPortType, UserBlobType, UserBlobSubtype","target":"categories"}}"#]],
    );
    check(
        &call(&server, "GET", "types?ids=12,x", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`ids` has `x`; the ids of types are integers","target":"ids"}}"#]],
    );
    check(
        &call(&server, "GET", "types?includes=children", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`includes` has `children`; this resource accepts description, ontologies, space, fullpath","target":"includes"}}"#]],
    );
    check(
        &call(&server, "GET", "types?system=maybe", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`system` is `maybe`; it takes true or false","target":"system"}}"#]],
    );
    check(
        &call(&server, "GET", "types?$count=true", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"$count is not supported; the management API supports $filter, $orderby, $top and $skip","target":"$count"}}"#]],
    );
    check(
        &call(&server, "GET", "types?traverse=Down", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"traverse=Down needs spaceId: it walks the tree from that space","target":"traverse"}}"#]],
    );
    check(
        &call(&server, "GET", "types?spaceId=nowhere", None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"space 'nowhere' was not found"}}"#]],
    );
    check(
        &call(&server, "GET", "types/5", None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"type '5' was not found"}}"#]],
    );
    check(
        &call(&server, "GET", "types/Room", None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"type 'Room' was not found"}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn custom_types_on_spaces() {
    let server = start_shipped().await;
    seed_spaces(&server).await;
    let create = json!({"Category": "SpaceSubType", "Name": "GymRoom", "SpaceId": "building", "FriendlyName": "Gym"});
    check(
        &call(&server, "POST", "types", Some(create)).await,
        expect![[r#"
        201
        1000000"#]],
    );
    check(
        &call(
            &server,
            "POST",
            "types",
            Some(json!({"category": "SpaceSubtype", "name": "gymroom", "spaceId": "building"})),
        )
        .await,
        expect![[r#"
            409
            x-ms-error-code: 409.600.000.000
            {"error":{"code":"409.600.000.000","message":"the space already has a SpaceSubtype named 'gymroom'; a name is unique within its category on a space"}}"#]],
    );
    // The same name on another space is another type.
    let reply = call(
        &server,
        "POST",
        "types/",
        Some(json!({"category": "SpaceSubtype", "name": "GymRoom", "spaceId": "other"})),
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (201, "1000001"));

    check(
        &call(&server, "POST", "types", Some(json!({"name": "Lab", "spaceId": "building"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`category` is required: the category of the type, such as SensorDataType","target":"category"}}"#]],
    );
    check(
        &call(&server, "POST", "types", Some(json!({"category": "SpaceType", "name": "Lab"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`spaceId` is required: the space whose subtree may use the type","target":"spaceId"}}"#]],
    );
    check(
        &call(&server, "POST", "types", Some(json!({"category": "SpaceType", "name": "Lab", "spaceId": "nowhere"})))
            .await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"space 'nowhere' was not found"}}"#]],
    );
    check(
        &call(&server, "POST", "types", Some(json!({"category": "SpaceType", "name": "Big Lab", "spaceId": "floor"})))
            .await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"the type name 'Big Lab' must be 3 to 50 letters, digits or underscores"}}"#]],
    );
    check(
        &call(
            &server,
            "POST",
            "types",
            Some(json!({"category": "SpaceType", "name": "Lab", "spaceId": "floor", "logicalOrder": -1})),
        )
        .await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`logicalOrder` is -1; it takes an integer from 0","target":"logicalOrder"}}"#]],
    );

    check_lines(
        &call(&server, "GET", &format!("types/{FIRST_CUSTOM}?includes=description,ontologies,space,fullpath"), None)
            .await,
        expect![[r#"
            200
            {"id":1000000,"category":"SpaceSubtype","name":"GymRoom","friendlyName":"Gym","logicalOrder":0,"disabled":false,"spaceId":"building","description":null,"ontologies":[],"space":{"id":"building","name":"building","parentSpaceId":"campus"},"spacePaths":["/campus/building"]}"#]],
    );

    // Where the type is visible: the tree parameters select the spaces whose own types are listed.
    let mut visible = String::new();
    for query in [
        "system=false",
        "system=false&spaceId=building",
        "system=false&spaceId=floor",
        "system=false&spaceId=floor&traverse=Up",
        "system=false&spaceId=campus&traverse=Down",
        "system=false&spaceId=campus&traverse=Down&minLevel=1&minRelative=true&maxLevel=1&maxRelative=true",
        "system=false&maxLevel=1",
        "system=false&spaceId=other",
    ] {
        let reply = call(&server, "GET", &format!("types?{query}"), None).await;
        let ids: Vec<String> =
            body(&reply).as_array().expect("a list").iter().map(|t| format!("{}@{}", t["id"], t["spaceId"])).collect();
        visible.push_str(&format!("{query}: [{}]\n", ids.join(" ")));
    }
    expect![[r#"
        system=false: [1000000@"building" 1000001@"other"]
        system=false&spaceId=building: [1000000@"building"]
        system=false&spaceId=floor: []
        system=false&spaceId=floor&traverse=Up: [1000000@"building"]
        system=false&spaceId=campus&traverse=Down: [1000000@"building"]
        system=false&spaceId=campus&traverse=Down&minLevel=1&minRelative=true&maxLevel=1&maxRelative=true: [1000000@"building"]
        system=false&maxLevel=1: [1000001@"other"]
        system=false&spaceId=other: [1000001@"other"]
    "#]]
    .assert_eq(&visible);
    // With a space, system types come along (they are visible on every space); a selection of no space has none.
    expect![[r#"
        200 (111 items)
        1000000 GymRoom
    "#]]
    .assert_eq(&summary(
        &call(&server, "GET", "types?spaceId=building&categories=SpaceSubtype&$orderby=id%20desc", None).await,
        1,
    ));
    check(&call(&server, "GET", "types?spaceId=building&minLevel=5", None).await, expect!["200\n[]"]);

    // Updates: every member of a custom type but its space.
    let patch = json!({"name": "Fitness", "friendlyName": null, "description": "Weights and bikes", "disabled": true, "logicalOrder": 7});
    check(&call(&server, "PATCH", &format!("types/{FIRST_CUSTOM}"), Some(patch)).await, expect!["204\n"]);
    check(
        &call(&server, "GET", &format!("types/{FIRST_CUSTOM}?includes=description"), None).await,
        expect![[r#"
            200
            {"id":1000000,"category":"SpaceSubtype","name":"Fitness","friendlyName":null,"logicalOrder":7,"disabled":true,"spaceId":"building","description":"Weights and bikes"}"#]],
    );
    check(
        &call(&server, "PATCH", &format!("types/{FIRST_CUSTOM}"), Some(json!({"spaceId": "other"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"type 1000000 stays on space 'building', where it was created; create a type on space 'other' instead","target":"spaceId"}}"#]],
    );
    check(
        &call(&server, "PATCH", &format!("types/{FIRST_CUSTOM}"), Some(json!({"name": "no"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"the type name 'no' must be 3 to 50 letters, digits or underscores"}}"#]],
    );

    // A twin that uses the type keeps it from being deleted, and follows a rename.
    put_space(&server, "gym", Some("floor"), json!({"subtypeId": FIRST_CUSTOM, "subtype": "Fitness"})).await;
    check(
        &call(&server, "DELETE", &format!("types/{FIRST_CUSTOM}"), None).await,
        expect![[r#"
            409
            x-ms-error-code: 409.600.000.000
            {"error":{"code":"409.600.000.000","message":"type 1000000 (SpaceSubtype 'Fitness') is used by 1 space; give them another type before deleting it"}}"#]],
    );
    check(
        &call(&server, "PATCH", &format!("types/{FIRST_CUSTOM}"), Some(json!({"name": "Gym"}))).await,
        expect!["204\n"],
    );
    let gym = body(&data_plane(&server, "GET", "/digitaltwins/gym", None).await);
    assert_eq!((&gym["subtype"], &gym["subtypeId"]), (&json!("Gym"), &json!(FIRST_CUSTOM)));
    let retype = json!([{"op": "replace", "path": "/subtypeId", "value": 21000}, {"op": "replace", "path": "/subtype", "value": "FocusRoom"}]);
    assert_eq!(data_plane(&server, "PATCH", "/digitaltwins/gym", Some(retype)).await.status, 204);
    check(&call(&server, "DELETE", &format!("types/{FIRST_CUSTOM}/"), None).await, expect!["204\n"]);
    check(
        &call(&server, "GET", &format!("types/{FIRST_CUSTOM}"), None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"type '1000000' was not found"}}"#]],
    );
    check(
        &call(&server, "DELETE", &format!("types/{FIRST_CUSTOM}"), None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"type '1000000' was not found"}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn system_types_are_disabled_not_changed() {
    let server = start_shipped().await;
    let temperature = "types/111001";
    check(&call(&server, "PATCH", temperature, Some(json!({"disabled": true}))).await, expect!["204\n"]);
    expect![[r#"
        200 (2 items)
        111001 Temperature (disabled)
        111033 Temp (disabled)
    "#]]
    .assert_eq(&summary(
        &call(&server, "GET", "types?categories=SensorDataType&names=Temperature,Temp,Motion&disabled=true", None)
            .await,
        5,
    ));
    // A generated client sends every member of the update, the unset ones as null: those change nothing.
    let nulls = json!({"spaceId": null, "name": null, "friendlyName": null, "description": null, "disabled": false, "logicalOrder": null});
    check(&call(&server, "PATCH", temperature, Some(nulls)).await, expect!["204\n"]);
    assert_eq!(body(&call(&server, "GET", temperature, None).await)["disabled"], false);
    check(
        &call(&server, "PATCH", temperature, Some(json!({"disabled": true, "friendlyName": "Temp."}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"type 111001 is a system type (SensorDataType 'Temperature'): only `disabled` can be changed, not `friendlyName`","target":"friendlyName"}}"#]],
    );
    assert_eq!(
        body(&call(&server, "GET", temperature, None).await)["disabled"],
        false,
        "a refused update changes nothing"
    );
    check(
        &call(&server, "PATCH", temperature, Some(json!({"disabled": "yes"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`disabled` must be true or false","target":"disabled"}}"#]],
    );
    check(
        &call(&server, "DELETE", temperature, None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"type 111001 is a system type (SensorDataType 'Temperature') and cannot be deleted; disable it with PATCH types/111001 {\"disabled\": true}"}}"#]],
    );
    check(
        &call(&server, "PATCH", "types/77", Some(json!({"disabled": true}))).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"type '77' was not found"}}"#]],
    );
    check(
        &call(&server, "PATCH", temperature, Some(json!(["disabled"]))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"the request body must be a JSON object"}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn ontologies_load_unload_and_survive_a_restart() {
    let server = start_shipped().await;
    check_lines(
        &call(&server, "GET", "ontologies", None).await,
        expect![[r#"
            200
            {"id":1,"name":"Required","loaded":true,"description":"The types every object falls back to: each category's None, and the Tenant space type."}
            {"id":2,"name":"Default","loaded":true,"description":"Generic names for spaces, devices, sensors, their data and units, and blobs."}
            {"id":3,"name":"Building","loaded":false,"description":"Spaces, equipment and statuses of buildings: offices, schools, hospitals, venues, hotels, shops and parking."}
            {"id":4,"name":"BACnet","loaded":false,"description":"BACnet object types, point data types and subtypes, device profiles and engineering units."}
            {"id":5,"name":"EnergyGrid","loaded":false,"description":"Grid places and assets: substations, feeders, transformers, meters, chargers, inverters and batteries."}
        "#]],
    );
    let building = body(&call(&server, "GET", "ontologies/3?includes=types", None).await);
    let types = building["types"].as_array().expect("the ontology's types");
    // Building's types start disabled, except those that Default, which is loaded, also holds.
    let enabled: Vec<&Value> = types.iter().filter(|t| t["disabled"] == false).collect();
    for ty in &enabled {
        let id = ty["id"].as_u64().and_then(|id| u32::try_from(id).ok()).expect("an integer id");
        let ontologies = ontology::catalogue().by_id(ontology::TypeId::new(id)).expect("a system type").ontologies();
        assert!(ontologies.contains(ontology::Ontology::Default), "{ty}");
    }
    expect!["139 types, 7 enabled"].assert_eq(&format!("{} types, {} enabled", types.len(), enabled.len()));

    check(&call(&server, "PATCH", "ontologies/3", Some(json!({"loaded": true}))).await, expect!["204\n"]);
    assert_eq!(type_states(&server).await, "Room=on Classroom=on Temperature=on");
    check(&call(&server, "PATCH", "ontologies/3/", Some(json!({"Loaded": false}))).await, expect!["204\n"]);
    assert_eq!(type_states(&server).await, "Room=on Classroom=off Temperature=on", "Room stays: Default holds it");
    check(&call(&server, "PATCH", "ontologies/3", Some(json!({"loaded": true}))).await, expect!["204\n"]);
    check(&call(&server, "PATCH", "types/111001", Some(json!({"disabled": true}))).await, expect!["204\n"]);
    let created = call(
        &server,
        "POST",
        "types",
        Some(json!({"category": "SensorType", "name": "Classic2", "spaceId": "nowhere"})),
    )
    .await;
    assert_eq!(created.status, 404, "types need an existing space");

    check(
        &call(&server, "PATCH", "ontologies/1", Some(json!({"loaded": false}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"the Required ontology holds the types every object falls back to and cannot be unloaded"}}"#]],
    );
    check(
        &call(&server, "PATCH", "ontologies/2", Some(json!({}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`loaded` is required: true loads the ontology, false unloads it","target":"loaded"}}"#]],
    );
    check(
        &call(&server, "PATCH", "ontologies/2", Some(json!({"loaded": "false"}))).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`loaded` must be true or false","target":"loaded"}}"#]],
    );
    check(
        &call(&server, "PATCH", "ontologies/9", Some(json!({"loaded": true}))).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"ontology '9' was not found"}}"#]],
    );
    check(
        &call(&server, "GET", "ontologies/Building", None).await,
        expect![[r#"
            404
            x-ms-error-code: 404.600.000.000
            {"error":{"code":"404.600.000.000","message":"ontology 'Building' was not found"}}"#]],
    );
    check(
        &call(&server, "GET", "ontologies?includes=space", None).await,
        expect![[r#"
            400
            x-ms-error-code: 400.600.000.000
            {"error":{"code":"400.600.000.000","message":"`includes` has `space`; this resource accepts types","target":"includes"}}"#]],
    );

    let dir = server.stop_keeping_data().await;
    let server = start_shipped_in(dir).await;
    check_lines(
        &call(&server, "GET", "ontologies?loaded=true&names=required;building,BACNET&$orderby=id%20desc", None).await,
        expect![[r#"
            200
            {"id":3,"name":"Building","loaded":true,"description":"Spaces, equipment and statuses of buildings: offices, schools, hospitals, venues, hotels, shops and parking."}
            {"id":1,"name":"Required","loaded":true,"description":"The types every object falls back to: each category's None, and the Tenant space type."}
        "#]],
    );
    assert_eq!(type_states(&server).await, "Room=on Classroom=on Temperature=off", "the settings survive a restart");
    server.stop().await;
}

/// Whether each of a few types is on (enabled) or off: Room is in Default and Building, Classroom only in Building, Temperature in Default and BACnet.
async fn type_states(server: &TestServer) -> String {
    let reply = call(server, "GET", "types?ids=22000,11008,111001", None).await;
    body(&reply)
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| format!("{}={}", t["name"].as_str().unwrap_or("?"), if t["disabled"] == true { "off" } else { "on" }))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn custom_types_survive_a_restart() {
    let server = start_shipped().await;
    seed_spaces(&server).await;
    let create = json!({"category": "SensorType", "name": "Classic", "spaceId": "campus", "description": "The sample's sensors", "logicalOrder": 3});
    assert_eq!(call(&server, "POST", "types", Some(create)).await.status, 201);
    let dir = server.stop_keeping_data().await;
    let server = start_shipped_in(dir).await;
    check_lines(
        &call(&server, "GET", "types?system=false&includes=description,fullpath", None).await,
        expect![[r#"
            200
            {"id":1000000,"category":"SensorType","name":"Classic","friendlyName":null,"logicalOrder":3,"disabled":false,"spaceId":"campus","description":"The sample's sensors","spacePaths":["/campus"]}
        "#]],
    );
    // Ids keep counting from the highest one stored.
    let again =
        call(&server, "POST", "types", Some(json!({"category": "SensorType", "name": "Modern", "spaceId": "campus"})))
            .await;
    assert_eq!((again.status, again.body.as_str()), (201, "1000001"));
    server.stop().await;
}
