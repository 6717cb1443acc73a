//! How a device proves who it is, the IoT Hub way: the MQTT username `{HostName}/{DeviceId}/?api-version=…` and the SAS token `SharedAccessSignature sr={HostName}/devices/{DeviceId}&sig=…&se=…` it sends as password (or, over HTTP, as `Authorization`).
//!
//! A token's signature is the base64 HMAC-SHA256, keyed with the base64-decoded device key, of the URL-encoded resource `sr`, a newline and the expiry `se` (Unix seconds).
//! Devices send `sr` URL-encoded or not; SDKs differ in the case of the hex digits they encode with, so a signature is checked against the upper-case and the lower-case encoding (and the text as sent).
//! Tokens of a shared access policy (`skn=…`) are refused: only a device's own key signs for it here.
//! Which key belongs to the device, what time it is and whether the host name is ours are the caller's to supply and decide; the host in `sr` is signed, so it cannot be changed, but it is not checked against anything here.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::percent::{self, HexCase};

/// What a token starts with.
const SCHEME: &str = "SharedAccessSignature ";

/// Why a username or token is refused; the device is not let in, whichever it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    #[error("the username is not `{{HostName}}/{{DeviceId}}/?api-version=…`: {0}")]
    MalformedUsername(String),
    #[error("the token is not an IoT Hub device SAS token: {0}")]
    MalformedToken(String),
    #[error("the token is signed by the shared access policy `{0}`; only device keys are accepted")]
    PolicyToken(String),
    #[error("the token expired at {expiry} (Unix seconds); it is now {now}")]
    Expired { expiry: i64, now: i64 },
    #[error("the token's signature does not match the device's key")]
    BadSignature,
    #[error("the device's key is not valid base64")]
    KeyUnreadable,
}

/// What an IoT Hub MQTT username says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username {
    pub host: String,
    pub device_id: String,
    /// `api-version` and whatever else the SDK adds (`DeviceClientType=…`), decoded.
    pub parameters: Vec<(String, String)>,
}

/// Reads `{HostName}/{DeviceId}/?api-version=2018-06-30` (older SDKs leave out the `?`, some add more parameters).
pub fn parse_username(username: &str) -> Result<Username, SasError> {
    let malformed = |why: &str| SasError::MalformedUsername(why.to_owned());
    let (host, rest) = username.split_once('/').ok_or_else(|| malformed("it has no `/` after the host name"))?;
    let (device_id, query) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() || device_id.is_empty() {
        return Err(malformed("its host name or device id is empty"));
    }
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut parameters = Vec::new();
    for item in query.split('&').filter(|item| !item.is_empty()) {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        let decode = |text: &str| percent::decode(text).map_err(|err| malformed(&format!("`{item}`: {err}")));
        parameters.push((decode(name)?, decode(value)?));
    }
    Ok(Username { host: host.to_owned(), device_id: device_id.to_owned(), parameters })
}

/// A device SAS token, read but not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceToken {
    /// `sr`, decoded: `{HostName}/devices/{DeviceId}`.
    pub resource: String,
    pub host: String,
    pub device_id: String,
    /// `se`: Unix seconds after which the token is refused.
    pub expiry: i64,
    /// `sr` exactly as the token carried it, which some devices sign as is.
    resource_as_sent: String,
    signature: Vec<u8>,
}

/// Whether `token` is an IoT Hub SAS token (it has an `sr` field), rather than another scheme's shared access signature.
pub fn is_device_token(token: &str) -> bool {
    fields(token).is_some_and(|fields| fields.split('&').any(|f| f.starts_with("sr=")))
}

/// Reads `SharedAccessSignature sr=…&sig=…&se=…` (fields in any order).
pub fn parse_device_token(token: &str) -> Result<DeviceToken, SasError> {
    let malformed = |why: &str| SasError::MalformedToken(why.to_owned());
    let fields = fields(token).ok_or_else(|| malformed("it does not start with `SharedAccessSignature `"))?;
    let (mut sr, mut sig, mut se) = (None, None, None);
    for field in fields.split('&').filter(|f| !f.is_empty()) {
        let (name, value) = field.split_once('=').ok_or_else(|| malformed(&format!("`{field}` has no `=`")))?;
        let slot = match name {
            "sr" => &mut sr,
            "sig" => &mut sig,
            "se" => &mut se,
            "skn" => {
                let policy = percent::decode(value).unwrap_or_else(|_| value.to_owned());
                return Err(SasError::PolicyToken(policy));
            }
            other => return Err(malformed(&format!("it has the field `{other}`; a device token has sr, sig and se"))),
        };
        if slot.replace(value).is_some() {
            return Err(malformed(&format!("it repeats `{name}`")));
        }
    }
    let (Some(sr), Some(sig), Some(se)) = (sr, sig, se) else {
        return Err(malformed("it lacks one of sr, sig and se"));
    };
    let resource = percent::decode(sr).map_err(|err| malformed(&format!("its sr: {err}")))?;
    let (host, device) =
        resource.split_once("/devices/").ok_or_else(|| malformed("its sr is not `{HostName}/devices/{DeviceId}`"))?;
    let device = device.strip_suffix('/').unwrap_or(device);
    if host.is_empty() || device.is_empty() || device.contains('/') {
        return Err(malformed("its sr is not `{HostName}/devices/{DeviceId}`"));
    }
    let device_id = percent::decode(device).map_err(|err| malformed(&format!("its device id: {err}")))?;
    let expiry = se.parse().map_err(|_| malformed("its se is not Unix seconds"))?;
    let sig = percent::decode(sig).map_err(|err| malformed(&format!("its sig: {err}")))?;
    let signature = STANDARD.decode(sig).map_err(|_| malformed("its sig is not base64"))?;
    Ok(DeviceToken { host: host.to_owned(), device_id, resource, expiry, resource_as_sent: sr.to_owned(), signature })
}

impl DeviceToken {
    /// Checks the signature with `key` (the device's key, base64) and the expiry at `now` (Unix seconds; valid up to and including `se`).
    pub fn verify(&self, key: &str, now: i64) -> Result<(), SasError> {
        let key = hmac_key(key)?;
        let mut signed =
            vec![percent::encode(&self.resource, HexCase::Upper), percent::encode(&self.resource, HexCase::Lower)];
        signed.push(self.resource_as_sent.clone());
        signed.dedup();
        let matches = signed.iter().any(|resource| {
            let text = format!("{resource}\n{}", self.expiry);
            ring::hmac::verify(&key, text.as_bytes(), &self.signature).is_ok()
        });
        if !matches {
            return Err(SasError::BadSignature);
        }
        if now > self.expiry {
            return Err(SasError::Expired { expiry: self.expiry, now });
        }
        Ok(())
    }
}

/// A device token for `{host}/devices/{device_id}` valid until `expiry`, signed with `key` (base64), as the device SDKs make them: `sr` and `sig` URL-encoded with upper-case hex.
pub fn sign_device_token(host: &str, device_id: &str, key: &str, expiry: i64) -> Result<String, SasError> {
    let resource = percent::encode(&format!("{host}/devices/{device_id}"), HexCase::Upper);
    let tag = ring::hmac::sign(&hmac_key(key)?, format!("{resource}\n{expiry}").as_bytes());
    let signature = percent::encode(&STANDARD.encode(tag.as_ref()), HexCase::Upper);
    Ok(format!("{SCHEME}sr={resource}&sig={signature}&se={expiry}"))
}

fn fields(token: &str) -> Option<&str> {
    token.trim().strip_prefix(SCHEME).map(str::trim)
}

fn hmac_key(key: &str) -> Result<ring::hmac::Key, SasError> {
    let bytes = STANDARD.decode(key.trim()).map_err(|_| SasError::KeyUnreadable)?;
    Ok(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::{SasError, parse_device_token, parse_username, sign_device_token};

    /// A key of 32 bytes 0, 1, …, 31.
    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const DEVICE: &str = "0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f";
    const EXPIRY: i64 = 1_800_000_000;

    /// Computed once, independently, with Python's standard library:
    /// `sr = quote_plus("hub.example.net/devices/" + DEVICE)`, `sig = b64encode(hmac(b64decode(KEY), sr + "\n1800000000", sha256))`, then `quote_plus(sig)`.
    const PYTHON_TOKEN: &str = "SharedAccessSignature sr=hub.example.net%2Fdevices%2F0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f&sig=GNaohW9QfEw8DNR7DE3ZYzhJbxHHvu079GkyRJ3zd6I%3D&se=1800000000";

    /// The verdict on `token` with `key` at `now`.
    fn check(token: &str, key: &str, now: i64) -> String {
        match parse_device_token(token).and_then(|t| t.verify(key, now).map(|()| t)) {
            Ok(t) => format!("ok: device {} of {} until {}", t.device_id, t.host, t.expiry),
            Err(err) => format!("refused: {err}"),
        }
    }

    #[test]
    fn a_token_computed_independently_verifies_and_signing_gives_the_same() {
        expect!["ok: device 0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f of hub.example.net until 1800000000"]
            .assert_eq(&check(PYTHON_TOKEN, KEY, EXPIRY));
        let signed = sign_device_token("hub.example.net", DEVICE, KEY, EXPIRY).expect("a valid key");
        assert_eq!(signed, PYTHON_TOKEN);
    }

    #[test]
    fn sr_is_accepted_encoded_or_not_and_in_either_hex_case() {
        let plain = PYTHON_TOKEN.replace("%2F", "/");
        let lower = PYTHON_TOKEN.replace("%2F", "%2f");
        let reordered = "SharedAccessSignature se=1800000000&sig=GNaohW9QfEw8DNR7DE3ZYzhJbxHHvu079GkyRJ3zd6I%3D&sr=hub.example.net/devices/0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f";
        let verdicts: Vec<String> = [plain.as_str(), &lower, reordered].iter().map(|t| check(t, KEY, EXPIRY)).collect();
        expect![[r#"
            ok: device 0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f of hub.example.net until 1800000000
            ok: device 0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f of hub.example.net until 1800000000
            ok: device 0e6a5f7e-9c1b-4a8e-9f51-3a1e2c4b5d6f of hub.example.net until 1800000000"#]]
        .assert_eq(&verdicts.join("\n"));
    }

    #[test]
    fn refusals() {
        let other_key = "c2Vjb25kIGtleQ==";
        let cases = [
            (PYTHON_TOKEN.to_owned(), KEY, EXPIRY + 1),
            (PYTHON_TOKEN.to_owned(), other_key, EXPIRY),
            (PYTHON_TOKEN.replace("se=1800000000", "se=1900000000"), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("hub.example.net", "other.example.net"), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("0e6a5f7e", "1e6a5f7e"), KEY, EXPIRY),
            (PYTHON_TOKEN.to_owned(), "not base64!", EXPIRY),
            (PYTHON_TOKEN.replace("SharedAccessSignature", "Bearer"), KEY, EXPIRY),
            (format!("{PYTHON_TOKEN}&skn=iothubowner"), KEY, EXPIRY),
            (format!("{PYTHON_TOKEN}&se=1"), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("&se=1800000000", ""), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("%2Fdevices%2F", "%2Fmodules%2F"), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("se=1800000000", "se=soon"), KEY, EXPIRY),
            (PYTHON_TOKEN.replace("sig=", "sig=%%"), KEY, EXPIRY),
            (format!("{PYTHON_TOKEN}&kv=1"), KEY, EXPIRY),
        ];
        let verdicts: Vec<String> = cases.iter().map(|(t, key, now)| check(t, key, *now)).collect();
        expect![[r#"
            refused: the token expired at 1800000000 (Unix seconds); it is now 1800000001
            refused: the token's signature does not match the device's key
            refused: the token's signature does not match the device's key
            refused: the token's signature does not match the device's key
            refused: the token's signature does not match the device's key
            refused: the device's key is not valid base64
            refused: the token is not an IoT Hub device SAS token: it does not start with `SharedAccessSignature `
            refused: the token is signed by the shared access policy `iothubowner`; only device keys are accepted
            refused: the token is not an IoT Hub device SAS token: it repeats `se`
            refused: the token is not an IoT Hub device SAS token: it lacks one of sr, sig and se
            refused: the token is not an IoT Hub device SAS token: its sr is not `{HostName}/devices/{DeviceId}`
            refused: the token is not an IoT Hub device SAS token: its se is not Unix seconds
            refused: the token is not an IoT Hub device SAS token: its sig: `%` is not followed by two hexadecimal digits
            refused: the token is not an IoT Hub device SAS token: it has the field `kv`; a device token has sr, sig and se"#]]
        .assert_eq(&verdicts.join("\n"));
        assert_eq!(sign_device_token("h", "d", "%%", 1), Err(SasError::KeyUnreadable));
    }

    #[test]
    fn usernames() {
        let cases = [
            "hub.example.net/0e6a5f7e/?api-version=2018-06-30",
            "hub.example.net/0e6a5f7e/?api-version=2018-06-30&DeviceClientType=com.microsoft.azure.devices.client%2F1.0",
            "hub.example.net/0e6a5f7e/api-version=2016-11-14",
            "hub.example.net/0e6a5f7e",
            "hub.example.net",
            "/0e6a5f7e/?api-version=2018-06-30",
            "hub.example.net/0e6a5f7e/?x=%zz",
        ];
        let parsed: Vec<String> = cases
            .iter()
            .map(|u| match parse_username(u) {
                Ok(u) => format!("{} of {} with {:?}", u.device_id, u.host, u.parameters),
                Err(err) => err.to_string(),
            })
            .collect();
        expect![[r#"
            0e6a5f7e of hub.example.net with [("api-version", "2018-06-30")]
            0e6a5f7e of hub.example.net with [("api-version", "2018-06-30"), ("DeviceClientType", "com.microsoft.azure.devices.client/1.0")]
            0e6a5f7e of hub.example.net with [("api-version", "2016-11-14")]
            0e6a5f7e of hub.example.net with []
            the username is not `{HostName}/{DeviceId}/?api-version=…`: it has no `/` after the host name
            the username is not `{HostName}/{DeviceId}/?api-version=…`: its host name or device id is empty
            the username is not `{HostName}/{DeviceId}/?api-version=…`: `x=%zz`: `%` is not followed by two hexadecimal digits"#]]
        .assert_eq(&parsed.join("\n"));
    }
}
