//! Role assignments of the 2018 face end to end: the occupancy sample's assignment of Space Administrator to its function on the room's path, listing by path (and below it), `check`, grants that follow their space when it moves and go when it is deleted, and the 2018 rules' refusals.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::management::{Names, call};
use crate::{TestServer, start_shipped};

const SPACE_ADMINISTRATOR: &str = "98e44ad7-28d4-4007-853b-b9968ad132d1";
const FUNCTION: &str = "5f0e0a3c-9b1c-4c4e-8f4e-2d1b6c7a9e01";

async fn create(server: &TestServer, names: &mut Names, path: &str, name: &str, body: Value) -> String {
    let (status, value) = call(server, "POST", path, Some(body.clone())).await;
    assert_eq!(status, 201, "POST {path} {body} answered {value}");
    let id = value.as_str().expect("an id as a JSON string").to_owned();
    names.add(&id, name);
    id
}

fn check(names: &Names, answer: (u16, Value), expect: Expect) {
    expect.assert_eq(&names.show(&format!("{} {}", answer.0, answer.1)));
}

/// Whether the function may update a sensor at the space `space`'s path now.
async fn may_update_sensors(server: &TestServer, space: &str) -> Value {
    let (_, with_path) = call(server, "GET", &format!("spaces/{space}?includes=fullpath"), None).await;
    let path = with_path["spacePaths"][0].as_str().expect("a path").to_owned();
    let query = format!("roleassignments/check?userId={FUNCTION}&path={path}&accessType=Update&resourceType=Sensor");
    call(server, "GET", &query, None).await.1
}

#[tokio::test]
async fn a_function_is_given_its_room_and_keeps_it_when_the_room_moves() {
    let server = start_shipped().await;
    let mut names = Names::default();
    names.add(FUNCTION, "function");
    let building = create(&server, &mut names, "spaces", "building", json!({"name": "Building"})).await;
    let floor =
        create(&server, &mut names, "spaces", "floor", json!({"name": "Floor", "parentSpaceId": building})).await;
    let room = create(&server, &mut names, "spaces", "room", json!({"name": "Room", "parentSpaceId": floor})).await;
    let other =
        create(&server, &mut names, "spaces", "other", json!({"name": "Other", "parentSpaceId": building})).await;
    // The sample's body, as it sends it.
    let body = json!({"ObjectId": FUNCTION, "ObjectIdType": "UserDefinedFunctionId", "Path": format!("/{building}/{floor}/{room}"), "RoleId": SPACE_ADMINISTRATOR, "TenantId": null});
    let grant = create(&server, &mut names, "roleassignments", "grant", body).await;
    check(
        &names,
        call(&server, "GET", &format!("roleassignments?path=/{building}/{floor}/{room}"), None).await,
        expect![[
            r#"200 [{"id":"<grant>","roleId":"98e44ad7-28d4-4007-853b-b9968ad132d1","objectId":"<function>","objectIdType":"UserDefinedFunctionId","path":"/<building>/<floor>/<room>"}]"#
        ]],
    );
    check(
        &names,
        call(&server, "GET", &format!("roleassignments?path=/{building}&traverse=Down&objectId={FUNCTION}"), None)
            .await,
        expect![[
            r#"200 [{"id":"<grant>","roleId":"98e44ad7-28d4-4007-853b-b9968ad132d1","objectId":"<function>","objectIdType":"UserDefinedFunctionId","path":"/<building>/<floor>/<room>"}]"#
        ]],
    );
    assert_eq!(
        call(&server, "GET", &format!("roleassignments?path=/{building}"), None).await.1,
        json!([]),
        "not below without traverse"
    );
    assert_eq!(may_update_sensors(&server, &room).await, json!(true));
    assert_eq!(may_update_sensors(&server, &other).await, json!(false));
    // The room moves to the other space: the grant goes with it.
    assert_eq!(call(&server, "PATCH", &format!("spaces/{room}"), Some(json!({"parentSpaceId": other}))).await.0, 204);
    assert_eq!(may_update_sensors(&server, &room).await, json!(true));
    check(
        &names,
        call(&server, "GET", &format!("roleassignments?path=/{building}&traverse=Down"), None).await,
        expect![[
            r#"200 [{"id":"<grant>","roleId":"98e44ad7-28d4-4007-853b-b9968ad132d1","objectId":"<function>","objectIdType":"UserDefinedFunctionId","path":"/<building>/<other>/<room>"}]"#
        ]],
    );
    // Refusals.
    let refused = [
        json!({"objectId": FUNCTION, "objectIdType": "UserDefinedFunctionId", "path": format!("/{building}/{floor}/{room}"), "roleId": SPACE_ADMINISTRATOR}),
        json!({"objectId": FUNCTION, "objectIdType": "UserDefinedFunctionId", "path": format!("/{building}/{other}/{room}"), "roleId": SPACE_ADMINISTRATOR}),
        json!({"objectId": "someone", "objectIdType": "UserId", "path": "/", "roleId": SPACE_ADMINISTRATOR}),
        json!({"objectId": "a-device", "objectIdType": "DeviceId", "path": "/", "roleId": SPACE_ADMINISTRATOR, "tenantId": "t"}),
        json!({"objectId": FUNCTION, "objectIdType": "Robot", "path": "/", "roleId": SPACE_ADMINISTRATOR}),
        json!({"objectId": FUNCTION, "objectIdType": "UserDefinedFunctionId", "path": "/", "roleId": "not-a-role"}),
    ];
    let mut out = String::new();
    for body in refused {
        let (status, value) = call(&server, "POST", "roleassignments", Some(body)).await;
        let message = value["error"]["message"].as_str().map_or_else(|| value.to_string(), str::to_owned);
        out.push_str(&format!("{status} {}\n", names.show(&message)));
    }
    expect![[r#"
        400 space '<room>' is at '/<building>/<other>/<room>', not '/<building>/<floor>/<room>' (spaces/{id}?includes=fullpath gives a space's path)
        409 role assignment '<grant>' already gives this role to this object on this path
        400 tenantId is required for objectIdType UserId
        400 tenantId is not allowed for objectIdType DeviceId
        400 `objectIdType` is `Robot`; it takes UserId, DeviceId, DomainName, TenantId, ServicePrincipalId, UserDefinedFunctionId
        400 roleId 'not-a-role' is not one of system/roles
    "#]].assert_eq(&out);
    // A whole-graph grant covers everything; deleting the room takes the room's grant with it.
    let root = json!({"objectId": FUNCTION, "objectIdType": "UserDefinedFunctionId", "path": "/", "roleId": SPACE_ADMINISTRATOR, "tenantId": null});
    create(&server, &mut names, "roleassignments", "root grant", root).await;
    assert_eq!(call(&server, "DELETE", &format!("spaces/{room}"), None).await.0, 204);
    assert_eq!(call(&server, "DELETE", &format!("roleassignments/{grant}"), None).await.0, 404);
    check(
        &names,
        call(&server, "GET", &format!("roleassignments?path=/&traverse=Down&objectId={FUNCTION}"), None).await,
        expect![[
            r#"200 [{"id":"<root grant>","roleId":"98e44ad7-28d4-4007-853b-b9968ad132d1","objectId":"<function>","objectIdType":"UserDefinedFunctionId","path":"/"}]"#
        ]],
    );
    check(
        &names,
        call(&server, "GET", "roleassignments", None).await,
        expect![[
            r#"400 {"error":{"code":"400.600.000.000","message":"`path` is required: `/`, or a space's path","target":"path"}}"#
        ]],
    );
    server.stop().await;
}
