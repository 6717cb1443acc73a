//! Key stores of the 2018 face (`keystores…`, `spaces/{id}/keystore`, `devices/{id}/keystore`) and the device SAS tokens signed with their keys.
//!
//! A key store hangs off a space and holds keys: 32 random bytes each, shown in base64, numbered from 1 in creation order (a deleted key's number is never given again), `Active` or `Disabled`.
//! A device finds its key store by walking up from its space; a token for a hardware id is signed with a key of that store (`keys/last/token` takes the newest active key).
//! The token's format and its checks live in `sas`, as pure functions over a key store, so whatever authenticates devices verifies tokens exactly as they are signed here.
//! This file deliberately does not authenticate requests with tokens; it only issues them.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ontology::ObjectKind;
use serde_json::{Value, json};
use spatial::state::{KeyStore, SecurityKey};

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, new_id, object_slot, route, space_path};
use crate::data::{Tenant, Written};
use crate::error::ApiError;
use crate::router::AppState;

/// What `includes` may name on key stores.
const INCLUDES: [&str; 3] = ["keys", "space", "fullpath"];

/// Key store names, in characters (`KeyStoreCreate`).
const NAME_CHARS: (usize, usize) = (5, 40);

/// Key store descriptions, in characters.
const DESCRIPTION_CHARS_MAX: usize = 4000;

/// Bytes of a generated key.
const KEY_BYTES: usize = 32;

/// Keys a store may hold; creating one more is refused until one is deleted.
const KEYS_MAX: usize = 100;

/// Characters of the hardware id a token is made for (a device's `hardwareId` takes at most 36).
const HARDWARE_ID_CHARS_MAX: usize = 36;

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/keystores", get(list).post(create));
    let router = route(router, "/keystores/{id}", get(retrieve).patch(update).delete(remove));
    let router = route(router, "/keystores/{id}/keys", get(keys).post(create_key));
    let router = route(router, "/keystores/{id}/keys/last", get(last_key));
    let router = route(router, "/keystores/{id}/keys/last/token", get(last_key_token));
    let router = route(router, "/keystores/{id}/keys/{key}", get(key).patch(update_key).delete(remove_key));
    let router = route(router, "/keystores/{id}/keys/{key}/token", get(key_token));
    let router = route(router, "/spaces/{id}/keystore", get(of_space));
    route(router, "/devices/{id}/keystore", get(of_device))
}

/// Device SAS tokens: `SharedAccessSignature id=<hardware id>&se=<expiry>&kv=<key id>&sig=<signature>`.
///
/// `se` is the expiry in Unix seconds, `kv` the id of the key in the key store, and `sig` the base64 HMAC-SHA256, with the key's bytes, of `<hardware id>\n<se>\n<kv>`; every value is form-urlencoded.
/// The 2018 service never documented what its signature covers, only that it covers these three items; this is the choice the reference suggests.
/// Since `se` and `kv` are integers, the string signed names exactly one (id, expiry, key) triple, whatever the hardware id holds.
pub(crate) mod sas {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use spatial::state::{KeyStore, SecurityKey};

    /// How long a token is valid from the moment it is issued: one year.
    pub(crate) const TOKEN_LIFETIME_SECONDS: i64 = 365 * 24 * 60 * 60;

    /// What a token starts with, as the `Authorization` header carries it.
    const SCHEME: &str = "SharedAccessSignature ";

    /// What a verified token says.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) struct Claims {
        /// The hardware id the token was issued for (a device's `hardwareId`); the verifier checks it is the device speaking.
        pub(crate) hardware_id: String,
        /// Unix seconds after which the token is refused.
        pub(crate) expiry: i64,
        /// The key of the store that signed it.
        pub(crate) key_id: u32,
    }

    /// Why a token cannot be issued or is refused.
    #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
    pub(crate) enum TokenError {
        #[error("the token is not a shared access signature of this service: {0}")]
        Malformed(&'static str),
        #[error("the token expired at {expiry} (Unix seconds); it is now {now}")]
        Expired { expiry: i64, now: i64 },
        #[error("key {0} is not in the key store")]
        UnknownKey(u32),
        #[error("key {0} is disabled")]
        KeyDisabled(u32),
        #[error("the token's signature does not match")]
        BadSignature,
        #[error("key {0} is not valid base64")]
        KeyUnreadable(u32),
    }

    /// The token for `hardware_id`, valid until `expiry` (Unix seconds), signed with `key`; a disabled key signs nothing.
    pub(crate) fn sign(hardware_id: &str, expiry: i64, key: &SecurityKey) -> Result<String, TokenError> {
        if !key.active {
            return Err(TokenError::KeyDisabled(key.id));
        }
        let tag = ring::hmac::sign(&hmac_key(key)?, signed_text(hardware_id, expiry, key.id).as_bytes());
        let expiry = expiry.to_string();
        let key_id = key.id.to_string();
        let signature = STANDARD.encode(tag.as_ref());
        let fields = [("id", hardware_id), ("se", &expiry), ("kv", &key_id), ("sig", &signature)];
        let encoded = serde_urlencoded::to_string(fields).expect("encoding strings as a form cannot fail");
        Ok(format!("{SCHEME}{encoded}"))
    }

    /// What `token` claims, once its signature is checked against the key of `store` it names, that key is active, and it has not expired at `now` (Unix seconds).
    pub(crate) fn verify(token: &str, store: &KeyStore, now: i64) -> Result<Claims, TokenError> {
        let (claims, signature) = parse(token)?;
        let key = store.keys.iter().find(|k| k.id == claims.key_id).ok_or(TokenError::UnknownKey(claims.key_id))?;
        if !key.active {
            return Err(TokenError::KeyDisabled(key.id));
        }
        let text = signed_text(&claims.hardware_id, claims.expiry, claims.key_id);
        ring::hmac::verify(&hmac_key(key)?, text.as_bytes(), &signature).map_err(|_| TokenError::BadSignature)?;
        if expired(&claims, now) {
            return Err(TokenError::Expired { expiry: claims.expiry, now });
        }
        Ok(claims)
    }

    /// Whether a token's claims have expired at `now` (Unix seconds); a token is valid up to and including its expiry second.
    pub(crate) fn expired(claims: &Claims, now: i64) -> bool {
        now > claims.expiry
    }

    /// The claims of a token and its signature bytes, unchecked: for finding the key store to verify it with (through the device with that hardware id).
    pub(crate) fn parse(token: &str) -> Result<(Claims, Vec<u8>), TokenError> {
        let fields = token
            .trim()
            .strip_prefix(SCHEME)
            .ok_or(TokenError::Malformed("it does not start with `SharedAccessSignature `"))?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(fields).map_err(|_| TokenError::Malformed("its fields are not form-encoded"))?;
        let field = |name: &'static str| -> Result<&str, TokenError> {
            let mut values = pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str());
            match (values.next(), values.next()) {
                (Some(value), None) => Ok(value),
                (None, _) => Err(TokenError::Malformed("it lacks one of id, se, kv and sig")),
                (Some(_), Some(_)) => Err(TokenError::Malformed("it repeats a field")),
            }
        };
        if pairs.iter().any(|(name, _)| !["id", "se", "kv", "sig"].contains(&name.as_str())) {
            return Err(TokenError::Malformed("it has a field other than id, se, kv and sig"));
        }
        let hardware_id = field("id")?;
        if hardware_id.is_empty() {
            return Err(TokenError::Malformed("its id is empty"));
        }
        let expiry = field("se")?.parse().map_err(|_| TokenError::Malformed("its se is not Unix seconds"))?;
        let key_id = field("kv")?.parse().map_err(|_| TokenError::Malformed("its kv is not a key id"))?;
        let signature = STANDARD.decode(field("sig")?).map_err(|_| TokenError::Malformed("its sig is not base64"))?;
        Ok((Claims { hardware_id: hardware_id.to_owned(), expiry, key_id }, signature))
    }

    /// What a signature covers.
    fn signed_text(hardware_id: &str, expiry: i64, key_id: u32) -> String {
        format!("{hardware_id}\n{expiry}\n{key_id}")
    }

    fn hmac_key(key: &SecurityKey) -> Result<ring::hmac::Key, TokenError> {
        let bytes = STANDARD.decode(&key.value).map_err(|_| TokenError::KeyUnreadable(key.id))?;
        Ok(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes))
    }

    #[cfg(test)]
    mod tests {
        use expect_test::expect;
        use spatial::state::KeyStore;

        use super::{Claims, TokenError, expired, parse, sign, verify};

        /// A key of 32 bytes 0, 1, …, 31.
        const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        const EXPIRY: i64 = 1_800_000_000;

        /// Keys 1 and 2 active, key 3 (the bytes of key 1) disabled.
        fn store() -> KeyStore {
            let mut store = KeyStore::new("store".to_owned(), "Hotel keys".to_owned(), None, "hotel".to_owned());
            for (value, active) in [(KEY, true), ("c2Vjb25kIGtleQ==", true), (KEY, false)] {
                store.add_key(value.to_owned(), "2026-01-01T00:00:00.0000000Z".to_owned());
                store.keys.last_mut().expect("a key was just added").active = active;
            }
            store
        }

        /// The verdict on `token` at `now`, as text.
        fn check(token: &str, now: i64) -> String {
            match verify(token, &store(), now) {
                Ok(Claims { hardware_id, expiry, key_id }) => {
                    format!("ok: {hardware_id} until {expiry} by key {key_id}")
                }
                Err(err) => format!("refused: {err}"),
            }
        }

        fn signed(hardware_id: &str, key_id: u32) -> String {
            let store = store();
            let key = store.keys.iter().find(|k| k.id == key_id).expect("a key of the test store");
            sign(hardware_id, EXPIRY, key).expect("an active key signs")
        }

        #[test]
        fn a_token_names_the_device_expiry_and_key_and_verifies() {
            let token = signed("00AABBCCDDEE", 1);
            expect!["SharedAccessSignature id=00AABBCCDDEE&se=1800000000&kv=1&sig=LLYIydt883NxuzRuUJ8ZniUdU0F%2Fczev80woz25AfBU%3D"]
                .assert_eq(&token);
            expect!["ok: 00AABBCCDDEE until 1800000000 by key 1"].assert_eq(&check(&token, EXPIRY - 1));
        }

        #[test]
        fn hardware_ids_with_separators_are_encoded_and_round_trip() {
            let token = signed("a&b=c d", 2);
            assert!(token.contains("id=a%26b%3Dc+d&"), "{token}");
            expect!["ok: a&b=c d until 1800000000 by key 2"].assert_eq(&check(&token, EXPIRY));
        }

        #[test]
        fn expiry_is_inclusive() {
            let claims = Claims { hardware_id: "x".to_owned(), expiry: EXPIRY, key_id: 1 };
            assert!(!expired(&claims, EXPIRY));
            assert!(expired(&claims, EXPIRY + 1));
            expect!["refused: the token expired at 1800000000 (Unix seconds); it is now 1800000001"]
                .assert_eq(&check(&signed("x", 1), EXPIRY + 1));
        }

        #[test]
        fn a_disabled_key_neither_signs_nor_verifies() {
            let store = store();
            assert_eq!(sign("x", EXPIRY, &store.keys[2]), Err(TokenError::KeyDisabled(3)));
            // Key 3 holds the bytes of key 1: a token signed while it was active is refused once it is disabled.
            let token = signed("x", 1).replace("kv=1", "kv=3");
            expect!["refused: key 3 is disabled"].assert_eq(&check(&token, EXPIRY));
        }

        #[test]
        fn tampering_is_refused() {
            let token = signed("00AABBCCDDEE", 1);
            let cases = [
                token.replace("id=00AABBCCDDEE", "id=00AABBCCDDEF"),
                token.replace("se=1800000000", "se=1900000000"),
                token.replace("kv=1", "kv=2"),
                token.replace("kv=1", "kv=9"),
                token.replace("SharedAccessSignature", "Bearer"),
                token.replace("&kv=1", ""),
                format!("{token}&kv=1"),
                format!("{token}&sr=hub"),
                token.replace("se=1800000000", "se=soon"),
                token.replace("sig=", "sig=%%"),
            ];
            let verdicts: Vec<String> = cases.iter().map(|t| check(t, EXPIRY)).collect();
            expect![[r#"
                refused: the token's signature does not match
                refused: the token's signature does not match
                refused: the token's signature does not match
                refused: key 9 is not in the key store
                refused: the token is not a shared access signature of this service: it does not start with `SharedAccessSignature `
                refused: the token is not a shared access signature of this service: it lacks one of id, se, kv and sig
                refused: the token is not a shared access signature of this service: it repeats a field
                refused: the token is not a shared access signature of this service: it has a field other than id, se, kv and sig
                refused: the token is not a shared access signature of this service: its se is not Unix seconds
                refused: the token is not a shared access signature of this service: its sig is not base64"#]]
            .assert_eq(&verdicts.join("\n"));
        }

        #[test]
        fn parse_gives_the_claims_before_any_key_is_known() {
            let (claims, signature) = parse(&signed("dev-1", 2)).expect("a token of this service");
            assert_eq!(claims, Claims { hardware_id: "dev-1".to_owned(), expiry: EXPIRY, key_id: 2 });
            assert_eq!(signature.len(), 32);
        }
    }
}

/// `GET keystores?spaceId&includes` and OData.
async fn list(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let space_id = params.text(&["spaceId"]).map(str::to_owned);
    let options = spatial::odata::QueryOptions::from_pairs(&params.0)?;
    let max = state.limits.management_results_max.get();
    let values = state.data.tenant().read_all(|t| -> Result<Vec<Value>, MgmtError> {
        if let Some(space_id) = &space_id {
            object_slot(&t.graph, ObjectKind::Space, space_id)?;
        }
        let view = View::new(t);
        let mut out = objects::Results::new(options, max);
        for store in t.spatial.keystores().filter(|k| space_id.as_ref().is_none_or(|s| *s == k.space_id)) {
            if !out.push(keystore_json(&view, store, &includes))? {
                break;
            }
        }
        Ok(out.finish())
    })?;
    Ok(axum::Json(Value::Array(values)).into_response())
}

/// `POST keystores`: `{name, description?, spaceId}` → 201 with the new id.
async fn create(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let name = body.bounded("name", NAME_CHARS.0, NAME_CHARS.1)?.ok_or_else(|| required("name"))?.to_owned();
    let description = body.bounded("description", 0, DESCRIPTION_CHARS_MAX)?.map(str::to_owned);
    let space_id = body.id("spaceId")?.ok_or_else(|| required("spaceId"))?.to_owned();
    let store = KeyStore::new(new_id(), name, description, space_id);
    let id = store.id.clone();
    super::created_after(&state, id.clone(), move |t| {
        object_slot(&t.graph, ObjectKind::Space, &store.space_id)?;
        Ok(Written::records(t.spatial.put_keystore(store)))
    })
    .await
}

/// `GET keystores/{id}?includes`.
async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let value = state
        .data
        .tenant()
        .read_all(|t| Ok::<_, MgmtError>(keystore_json(&View::new(t), keystore(t, &id)?, &includes)))?;
    Ok(axum::Json(value).into_response())
}

/// `PATCH keystores/{id}`: `name`, `description` (`null` clears it).
async fn update(State(state): State<AppState>, Path(id): Path<String>, body: Body) -> Result<Response, MgmtError> {
    let name = body.bounded("name", NAME_CHARS.0, NAME_CHARS.1)?.map(str::to_owned);
    let description = body.bounded("description", 0, DESCRIPTION_CHARS_MAX)?.map(str::to_owned);
    let clears_description = description.is_none() && body.has("description");
    write_keystore(&state, &id, |store| {
        if let Some(name) = name {
            store.name = name;
        }
        if description.is_some() || clears_description {
            store.description = description;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE keystores/{id}`.
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    state
        .data
        .tenant()
        .write_all(&state.data, |t| Ok::<_, MgmtError>(((), Written::records(t.spatial.delete_keystore(&id)?))))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET keystores/{id}/keys`.
async fn keys(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let value = state.data.tenant().read_all(|t| -> Result<Value, MgmtError> {
        let store = keystore(t, &id)?;
        Ok(store.keys.iter().map(|k| key_json(store, k)).collect())
    })?;
    Ok(axum::Json(value).into_response())
}

/// `POST keystores/{id}/keys`: a new active key of random bytes → 201 with its id (an integer).
async fn create_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let value = random_key()?;
    let now = crate::data::now();
    let key_id = write_keystore(&state, &id, |store| {
        if store.keys.len() >= KEYS_MAX {
            return Err(MgmtError::conflict(format!(
                "key store '{}' holds {KEYS_MAX} keys, the most it may; delete one first",
                store.id
            )));
        }
        Ok(store.add_key(value, now))
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(json!(key_id))).into_response())
}

/// `GET keystores/{id}/keys/last`: the newest active key.
async fn last_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let value = state.data.tenant().read_all(|t| -> Result<Value, MgmtError> {
        let store = keystore(t, &id)?;
        Ok(key_json(store, last_active(store)?))
    })?;
    Ok(axum::Json(value).into_response())
}

/// `GET keystores/{id}/keys/{key}`.
async fn key(State(state): State<AppState>, Path((id, key)): Path<(String, String)>) -> Result<Response, MgmtError> {
    let value = state.data.tenant().read_all(|t| -> Result<Value, MgmtError> {
        let store = keystore(t, &id)?;
        Ok(key_json(store, security_key(store, &key)?))
    })?;
    Ok(axum::Json(value).into_response())
}

/// `PATCH keystores/{id}/keys/{key}`: `{status: Active|Disabled}`.
async fn update_key(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    body: Body,
) -> Result<Response, MgmtError> {
    let active = match body.text("status")?.map(str::trim) {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("Active") => Some(true),
        Some(s) if s.eq_ignore_ascii_case("Disabled") => Some(false),
        Some(s) => {
            return Err(MgmtError::invalid_member("status", format!("`status` is `{s}`; it takes Active or Disabled")));
        }
    };
    write_keystore(&state, &id, |store| {
        let key_id = security_key(store, &key)?.id;
        if let Some(active) = active {
            let key = store.keys.iter_mut().find(|k| k.id == key_id).expect("the key was just found");
            key.active = active;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE keystores/{id}/keys/{key}`: tokens signed with it are refused from then on.
async fn remove_key(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, MgmtError> {
    write_keystore(&state, &id, |store| {
        let key_id = security_key(store, &key)?.id;
        store.keys.retain(|k| k.id != key_id);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET keystores/{id}/keys/last/token?deviceMac=`: a token signed with the newest active key.
async fn last_key_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let hardware_id = device_mac(&params)?;
    let token = state.data.tenant().read_all(|t| -> Result<String, MgmtError> {
        let store = keystore(t, &id)?;
        issue(store, last_active(store)?, &hardware_id)
    })?;
    Ok(axum::Json(Value::String(token)).into_response())
}

/// `GET keystores/{id}/keys/{key}/token?deviceMac=`: a token signed with that key, which must be active.
async fn key_token(
    State(state): State<AppState>,
    Path((id, key)): Path<(String, String)>,
    params: Params,
) -> Result<Response, MgmtError> {
    let hardware_id = device_mac(&params)?;
    let token = state.data.tenant().read_all(|t| -> Result<String, MgmtError> {
        let store = keystore(t, &id)?;
        issue(store, security_key(store, &key)?, &hardware_id)
    })?;
    Ok(axum::Json(Value::String(token)).into_response())
}

/// `GET spaces/{id}/keystore?includes`: the first key store found walking up from the space.
async fn of_space(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    above(&state, ObjectKind::Space, &id, &params)
}

/// `GET devices/{id}/keystore?includes`: the first key store found walking up from the device's space.
async fn of_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    above(&state, ObjectKind::Device, &id, &params)
}

fn above(state: &AppState, object: ObjectKind, id: &str, params: &Params) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let value = state.data.tenant().read_all(|t| -> Result<Value, MgmtError> {
        let slot = object_slot(&t.graph, object, id)?;
        let store = t.spatial.keystore_above(&space_path(&t.graph, slot)).ok_or_else(|| {
            MgmtError::absent(format!(
                "there is no key store on {} '{id}' or a space above it",
                super::kind_name(object)
            ))
        })?;
        Ok(keystore_json(&View::new(t), store, &includes))
    })?;
    Ok(axum::Json(value).into_response())
}

/// A key store as the API shows it (`KeyStoreRetrieve`), with the sections `includes` asks for.
fn keystore_json(view: &View<'_>, store: &KeyStore, includes: &Includes) -> Value {
    let mut value = json!({
        "id": store.id,
        "name": store.name,
        "description": store.description,
        "spaceId": store.space_id,
    });
    if includes.has("keys") {
        value["keys"] = store.keys.iter().map(|k| key_json(store, k)).collect();
    }
    for (section, member) in [("space", "space"), ("fullpath", "spacePaths")] {
        if includes.has(section) {
            value[member] = view.space_section(&store.space_id, section);
        }
    }
    value
}

/// A key as the API shows it (`SecurityKeyRetrieve`).
fn key_json(store: &KeyStore, key: &SecurityKey) -> Value {
    json!({
        "id": key.id,
        "value": key.value,
        "keyStoreId": store.id,
        "createdDateTimeUtc": key.created_utc,
        "status": if key.active { "Active" } else { "Disabled" },
    })
}

/// Applies `change` to a copy of the key store `id` and stores it; `change`'s error leaves the store as it was.
async fn write_keystore<T>(
    state: &AppState,
    id: &str,
    change: impl FnOnce(&mut KeyStore) -> Result<T, MgmtError>,
) -> Result<T, MgmtError> {
    state
        .data
        .tenant()
        .write_all(&state.data, |t| {
            let mut store = keystore(t, id)?.clone();
            let value = change(&mut store)?;
            Ok((value, Written::records(t.spatial.put_keystore(store))))
        })
        .await
}

fn keystore<'t>(t: &'t Tenant, id: &str) -> Result<&'t KeyStore, MgmtError> {
    t.spatial.keystore(id).ok_or_else(|| MgmtError::not_found("key store", id))
}

/// The key named by the route's `{key}`; an id that is not a number names no key.
fn security_key<'s>(store: &'s KeyStore, key: &str) -> Result<&'s SecurityKey, MgmtError> {
    key.trim()
        .parse::<u32>()
        .ok()
        .and_then(|key_id| store.keys.iter().find(|k| k.id == key_id))
        .ok_or_else(|| MgmtError::absent(format!("key store '{}' has no key '{key}'", store.id)))
}

fn last_active(store: &KeyStore) -> Result<&SecurityKey, MgmtError> {
    store.last_active_key().ok_or_else(|| MgmtError::absent(format!("key store '{}' has no active key", store.id)))
}

/// A token for `hardware_id` signed with `key`, valid for `sas::TOKEN_LIFETIME_SECONDS` from now.
pub(crate) fn issue(store: &KeyStore, key: &SecurityKey, hardware_id: &str) -> Result<String, MgmtError> {
    let expiry = jiff::Timestamp::now().as_second() + sas::TOKEN_LIFETIME_SECONDS;
    sas::sign(hardware_id, expiry, key).map_err(|err| match err {
        sas::TokenError::KeyDisabled(key_id) => MgmtError::conflict(format!(
            "key {key_id} of key store '{}' is disabled and signs no token; enable it or use another key",
            store.id
        )),
        other => MgmtError::from(ApiError::internal(&other)),
    })
}

/// The `deviceMac` parameter: the hardware id a token is made for.
fn device_mac(params: &Params) -> Result<String, MgmtError> {
    let hardware_id = params.text(&["deviceMac"]).ok_or_else(|| {
        MgmtError::invalid_member(
            "deviceMac",
            "`deviceMac` is required: the hardware id of the device the token is for",
        )
    })?;
    if hardware_id.chars().count() > HARDWARE_ID_CHARS_MAX || hardware_id.chars().any(char::is_control) {
        return Err(MgmtError::invalid_member(
            "deviceMac",
            format!(
                "`deviceMac` takes a hardware id of at most {HARDWARE_ID_CHARS_MAX} characters, without control characters"
            ),
        ));
    }
    Ok(hardware_id.to_owned())
}

/// A new key: `KEY_BYTES` from the system's secure random generator, in base64.
fn random_key() -> Result<String, MgmtError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; KEY_BYTES];
    ring::rand::SystemRandom::new().fill(&mut bytes).map_err(|_| {
        MgmtError::from(ApiError::internal(&std::io::Error::other("the system random generator failed")))
    })?;
    Ok(STANDARD.encode(bytes))
}

fn required(member: &str) -> MgmtError {
    MgmtError::invalid_member(member, format!("`{member}` is required"))
}
