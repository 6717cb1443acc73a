//! URL encoding as IoT Hub devices use it: percent-decoding of topic property bags and token fields, and the encoding of a SAS token's resource before it is signed.
//!
//! Decoding turns `%XX` into a byte and leaves every other character as it is (`+` stays `+`: the device SDKs escape spaces as `%20` in property bags).
//! Encoding keeps letters, digits and `-_.~`, writes a space as `+` and every other byte as `%XX`, as .NET's `WebUtility.UrlEncode` and Python's `quote_plus` do, in upper-case hex or, as some SDKs write it, lower-case.

/// Why a text is not valid percent-encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PercentError {
    #[error("`%` is not followed by two hexadecimal digits")]
    BadEscape,
    #[error("the decoded bytes are not UTF-8")]
    NotUtf8,
}

/// `text` with every `%XX` decoded.
pub fn decode(text: &str) -> Result<String, PercentError> {
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let high = bytes.get(at + 1).and_then(|b| hex_value(*b));
            let low = bytes.get(at + 2).and_then(|b| hex_value(*b));
            let (Some(high), Some(low)) = (high, low) else { return Err(PercentError::BadEscape) };
            out.push(high << 4 | low);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PercentError::NotUtf8)
}

/// Which hexadecimal digits `encode` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HexCase {
    Upper,
    Lower,
}

/// `text` URL-encoded for signing: letters, digits and `-_.~` kept, a space as `+`, every other byte as `%XX`.
pub fn encode(text: &str, case: HexCase) -> String {
    let digits: &[u8; 16] = match case {
        HexCase::Upper => b"0123456789ABCDEF",
        HexCase::Lower => b"0123456789abcdef",
    };
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(digits[usize::from(byte >> 4)]));
                out.push(char::from(digits[usize::from(byte & 0x0f)]));
            }
        }
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::{HexCase, decode, encode};

    fn check_decode(text: &str) -> String {
        match decode(text) {
            Ok(decoded) => format!("{decoded:?}"),
            Err(err) => format!("error: {err}"),
        }
    }

    #[test]
    fn decoding_keeps_plus_and_refuses_broken_escapes() {
        let cases = ["plain", "a%20b+c", "%E2%9C%93", "%2f%2F", "100%", "%zz", "%FF"];
        let decoded: Vec<String> = cases.iter().map(|c| format!("{c} -> {}", check_decode(c))).collect();
        expect![[r#"
            plain -> "plain"
            a%20b+c -> "a b+c"
            %E2%9C%93 -> "✓"
            %2f%2F -> "//"
            100% -> error: `%` is not followed by two hexadecimal digits
            %zz -> error: `%` is not followed by two hexadecimal digits
            %FF -> error: the decoded bytes are not UTF-8"#]]
        .assert_eq(&decoded.join("\n"));
    }

    #[test]
    fn encoding_matches_quote_plus() {
        // Python: urllib.parse.quote_plus("hub.example.net:8883/devices/a b~c") == "hub.example.net%3A8883%2Fdevices%2Fa+b~c"
        expect!["hub.example.net%3A8883%2Fdevices%2Fa+b~c"]
            .assert_eq(&encode("hub.example.net:8883/devices/a b~c", HexCase::Upper));
        expect!["hub%2fdevices%2fd"].assert_eq(&encode("hub/devices/d", HexCase::Lower));
    }
}
