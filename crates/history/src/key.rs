//! What names a point and how that name is laid out as a store key: `SeriesId`, `Timestamp`, `Position`, and the key encoding that makes key order time order.
//! It does not know what a store is; `docs/storage-format.md` describes the same layout as stored in the `History` table.
//!
//! A point's key is the series id, a `0x00` byte, the timestamp as 16 lowercase hexadecimal digits, then the sequence number as 8:
//! `sensor/pump-1\0` `8006612caed65000` `00000002` is the third point of 2026-11-26T12:00:00Z of the sensor `pump-1`.
//! The timestamp's digits are the big-endian bytes of its microseconds with the sign bit flipped, so byte order of keys is time order, negative times included.
//! The store's keys are UTF-8 text, so the digits are hexadecimal rather than raw bytes: twice as long, with the same order.
//! Series ids never contain `0x00` (`SeriesId::parse` refuses control characters), so a series' keys are exactly those starting with its id and `0x00`, and no other series' key does.

use std::fmt;

use crate::HistoryError;

/// A point in time: microseconds since the Unix epoch (1970-01-01T00:00:00Z), negative before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }
}

/// Where a point sits in its series: its timestamp, then its sequence number among the points of that same microsecond.
///
/// Points are ordered by position, which is their keys' order; the first point appended at a microsecond gets sequence number 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub ts: Timestamp,
    pub seq: u32,
}

/// The name of a time series, the same in every tenant: `sensor/<twin id>` for a sensor's values, `space/<twin id>/<value name>` for a space's computed value, or any other text that `parse` accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(String);

impl SeriesId {
    /// The longest series id, in bytes of UTF-8; its keys are 25 bytes longer.
    pub const LEN_MAX: usize = 512;

    /// Checks `text` and makes a series id of it: 1 to `LEN_MAX` bytes with no control characters.
    pub fn parse(text: &str) -> Result<SeriesId, HistoryError> {
        let invalid = |why: &str| HistoryError::InvalidInput { what: format!("series id {text:?} {why}") };
        if text.is_empty() || text.len() > SeriesId::LEN_MAX {
            return Err(invalid(&format!("must be 1 to {} bytes long", SeriesId::LEN_MAX)));
        }
        // Control characters have no place in a name, and `\0` ends the series id in a key.
        if text.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        Ok(SeriesId(text.to_owned()))
    }

    /// The series of a sensor's values: `sensor/<twin id>`.
    pub fn sensor(twin_id: &str) -> Result<SeriesId, HistoryError> {
        SeriesId::parse(&format!("sensor/{twin_id}"))
    }

    /// The series of a space's computed value: `space/<twin id>/<value name>`.
    ///
    /// `%` and `/` in the twin id are written `%25` and `%2F`, so the id ends at the next `/` and two different (twin, name) pairs never share a series.
    pub fn space_value(twin_id: &str, value_name: &str) -> Result<SeriesId, HistoryError> {
        let twin_id = twin_id.replace('%', "%25").replace('/', "%2F");
        SeriesId::parse(&format!("space/{twin_id}/{value_name}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The digits after the series prefix of a key: 16 for the timestamp, 8 for the sequence number.
const POSITION_DIGITS: usize = 24;

/// What every key of a series starts with: its id, then `\0`.
pub(crate) fn series_prefix(series: &SeriesId) -> String {
    let mut prefix = String::with_capacity(series.0.len() + 1 + POSITION_DIGITS);
    prefix.push_str(&series.0);
    prefix.push('\0');
    prefix
}

/// The key of the point at `position` of the series whose prefix is `prefix`.
pub(crate) fn point_key(prefix: &str, position: Position) -> String {
    let mut key = String::with_capacity(prefix.len() + POSITION_DIGITS);
    key.push_str(prefix);
    push_hex(&mut key, ts_bits(position.ts), 16);
    push_hex(&mut key, u64::from(position.seq), 8);
    key
}

/// The smallest key of the series at or after `ts`: the key of `ts` with sequence number 0.
pub(crate) fn ts_key(prefix: &str, ts: Timestamp) -> String {
    point_key(prefix, Position { ts, seq: 0 })
}

/// What every key of one microsecond of a series starts with: the series prefix and the timestamp's digits.
pub(crate) fn ts_prefix(prefix: &str, ts: Timestamp) -> String {
    let mut key = String::with_capacity(prefix.len() + 16);
    key.push_str(prefix);
    push_hex(&mut key, ts_bits(ts), 16);
    key
}

/// The position in a key read under a series prefix of `prefix_len` bytes; `Corrupt` unless exactly 24 lowercase hex digits follow.
pub(crate) fn decode_position(key: &str, prefix_len: usize) -> Result<Position, HistoryError> {
    let corrupt = || HistoryError::Corrupt {
        what: format!("history key {key:?} does not end in a timestamp and a sequence number"),
    };
    let digits =
        key.as_bytes().get(prefix_len..).filter(|digits| digits.len() == POSITION_DIGITS).ok_or_else(corrupt)?;
    let ts = read_hex(&digits[..16]).ok_or_else(corrupt)?;
    let seq = read_hex(&digits[16..]).and_then(|seq| u32::try_from(seq).ok()).ok_or_else(corrupt)?;
    Ok(Position { ts: Timestamp((ts ^ SIGN_BIT) as i64), seq })
}

/// The series id at the start of a key, up to its `\0`; `Corrupt` when there is none or it is not a valid id.
pub(crate) fn decode_series(key: &str) -> Result<SeriesId, HistoryError> {
    let id = key
        .split_once('\0')
        .map(|(id, _)| id)
        .ok_or_else(|| HistoryError::Corrupt { what: format!("history key {key:?} has no series id") })?;
    SeriesId::parse(id).map_err(|err| HistoryError::Corrupt { what: format!("history key {key:?}: {err}") })
}

/// The smallest key above every key of `series` and of no other series: its id followed by `\u{1}`.
pub(crate) fn after_series(series: &SeriesId) -> String {
    let mut key = series.0.clone();
    key.push('\u{1}');
    key
}

const SIGN_BIT: u64 = 1 << 63;

/// The timestamp as an unsigned number in the same order: the sign bit flipped.
fn ts_bits(ts: Timestamp) -> u64 {
    (ts.0 as u64) ^ SIGN_BIT
}

fn push_hex(out: &mut String, value: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..digits).rev() {
        out.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
    }
}

/// Lowercase hex digits only: `u64::from_str_radix` would also take `+` and uppercase, which history never writes.
/// A table lookup per digit, with no branch until the end: this runs for every point a query reads.
fn read_hex(digits: &[u8]) -> Option<u64> {
    let mut value = 0u64;
    let mut invalid = 0u8;
    for &digit in digits {
        let nibble = HEX_VALUES[usize::from(digit)];
        invalid |= nibble;
        value = (value << 4) | u64::from(nibble & 0x0f);
    }
    (invalid & NOT_HEX == 0).then_some(value)
}

/// The flag `HEX_VALUES` gives a byte that is not a lowercase hex digit.
const NOT_HEX: u8 = 0xf0;

/// The value of each byte as a lowercase hex digit, or `NOT_HEX`.
const HEX_VALUES: [u8; 256] = {
    let mut values = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        values[b"0123456789abcdef"[digit] as usize] = digit as u8;
        digit += 1;
    }
    values
};

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn series(text: &str) -> SeriesId {
        SeriesId::parse(text).expect("test series ids are valid")
    }

    fn check_key(series_id: &str, ts: i64, seq: u32, expected: Expect) {
        let prefix = series_prefix(&series(series_id));
        let position = Position { ts: Timestamp::from_micros(ts), seq };
        let key = point_key(&prefix, position);
        // Shown with the parts apart: the series id, its `\0`, the timestamp's 16 digits, the sequence number's 8.
        let (series_part, digits) = key.split_at(prefix.len());
        expected.assert_eq(&format!("{series_part:?} {} {}", &digits[..16], &digits[16..]));
        assert_eq!(decode_position(&key, prefix.len()).ok(), Some(position));
        assert_eq!(decode_series(&key).ok(), Some(series(series_id)));
    }

    #[test]
    fn key_layout() {
        check_key("sensor/pump-1", 0, 0, expect![[r#""sensor/pump-1\0" 8000000000000000 00000000"#]]);
        // 2026-11-26T12:00:00Z, the third point of that microsecond.
        check_key(
            "sensor/pump-1",
            1_795_694_400_000_000,
            2,
            expect![[r#""sensor/pump-1\0" 8006612caed65000 00000002"#]],
        );
        check_key("s", -1, u32::MAX, expect![[r#""s\0" 7fffffffffffffff ffffffff"#]]);
        check_key("s", i64::MIN, 0, expect![[r#""s\0" 0000000000000000 00000000"#]]);
        check_key("s", i64::MAX, 1, expect![[r#""s\0" ffffffffffffffff 00000001"#]]);
    }

    #[test]
    fn keys_sort_by_position() {
        let prefix = series_prefix(&series("s"));
        let positions =
            [(i64::MIN, 0), (-1_000_000, 5), (-1, 0), (0, 0), (0, 1), (0, 255), (0, 256), (1, 0), (i64::MAX, 0)];
        let keys: Vec<String> = positions
            .iter()
            .map(|&(ts, seq)| point_key(&prefix, Position { ts: Timestamp::from_micros(ts), seq }))
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
    }

    #[test]
    fn series_keys_do_not_mix() {
        // `s` is a prefix of `s0` and `sa`, but with the `\0` after the id no key of one series starts with another's prefix.
        let s = series_prefix(&series("s"));
        for other in ["s0", "sa", "s ", "s/"] {
            let key = ts_key(&series_prefix(&series(other)), Timestamp::MIN);
            assert!(!key.starts_with(&s), "{other}");
            assert!(key.as_str() > after_series(&series("s")).as_str(), "{other}");
        }
        assert!(ts_key(&s, Timestamp::MAX).as_str() < after_series(&series("s")).as_str());
    }

    fn check_decode_err(key: &str, prefix_len: usize, expected: Expect) {
        let err = decode_position(key, prefix_len).expect_err("a malformed key");
        expected.assert_eq(&err.to_string());
    }

    #[test]
    fn malformed_keys_are_corrupt() {
        let digits = "8000000000000000".to_owned() + "00000000";
        check_decode_err(
            &format!("s\0{}", &digits[1..]),
            2,
            expect![[
                r#"history data is corrupt: history key "s\000000000000000000000000" does not end in a timestamp and a sequence number"#
            ]],
        );
        check_decode_err(
            &format!("s\0{digits}0"),
            2,
            expect![[
                r#"history data is corrupt: history key "s\08000000000000000000000000" does not end in a timestamp and a sequence number"#
            ]],
        );
        check_decode_err(
            &format!("s\0{}A", &digits[1..]),
            2,
            expect![[
                r#"history data is corrupt: history key "s\000000000000000000000000A" does not end in a timestamp and a sequence number"#
            ]],
        );
        check_decode_err(
            &format!("s\0+{}", &digits[1..]),
            2,
            expect![[
                r#"history data is corrupt: history key "s\0+00000000000000000000000" does not end in a timestamp and a sequence number"#
            ]],
        );
        check_decode_err(
            &format!("s\0{}", &digits[..16]),
            2,
            expect![[
                r#"history data is corrupt: history key "s\08000000000000000" does not end in a timestamp and a sequence number"#
            ]],
        );
        expect![[r#"Err(Corrupt { what: "history key \"no-series\" has no series id" })"#]]
            .assert_eq(&format!("{:?}", decode_series("no-series")));
    }

    fn check_series(made: Result<SeriesId, HistoryError>, expected: Expect) {
        let shown = match made {
            Ok(series) => series.as_str().to_owned(),
            Err(err) => err.to_string(),
        };
        expected.assert_eq(&shown);
    }

    fn check_parses(text: &str, ok: bool) {
        assert_eq!(SeriesId::parse(text).is_ok(), ok, "{text:?}");
    }

    #[test]
    fn series_ids() {
        check_series(SeriesId::sensor("4f7a"), expect!["sensor/4f7a"]);
        check_series(SeriesId::space_value("4f7a", "Occupancy"), expect!["space/4f7a/Occupancy"]);
        // Without the escape both would be `space/a/b/c`.
        check_series(SeriesId::space_value("a/b", "c"), expect!["space/a%2Fb/c"]);
        check_series(SeriesId::space_value("a", "b/c"), expect!["space/a/b/c"]);
        check_series(SeriesId::space_value("50%", "x"), expect!["space/50%25/x"]);
        check_series(SeriesId::parse(""), expect![[r#"invalid input: series id "" must be 1 to 512 bytes long"#]]);
        check_series(
            SeriesId::sensor("a\0b"),
            expect![[r#"invalid input: series id "sensor/a\0b" must not contain control characters"#]],
        );
        // The length is counted in bytes: 256 two-byte characters fit, one more byte does not.
        check_parses(&"é".repeat(256), true);
        check_parses(&format!("{}x", "é".repeat(256)), false);
    }
}
