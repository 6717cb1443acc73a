//! The byte layout of the embedded backend: keyspace names, how keys of records, events and the tenant registry are encoded and decoded, and the `FORMAT` record.
//! `docs/storage-format.md` describes the same layout in prose; change both together and bump `FORMAT_VERSION` when old data would read differently.
//! It does not touch fjall: everything here is pure byte manipulation, so the encoding can be tested byte by byte.

use crate::{StoreError, Table, TenantId};

/// The keyspace holding the `FORMAT` record and the tenant registry.
pub(crate) const KEYSPACE_META: &str = "meta";
/// The keyspace holding every table of every tenant.
pub(crate) const KEYSPACE_RECORDS: &str = "records";
/// The keyspace holding every tenant's event log.
pub(crate) const KEYSPACE_EVENTS: &str = "events";

/// The key of the `FORMAT` record in `meta`.
pub(crate) const FORMAT_KEY: &[u8] = b"FORMAT";
/// The store format this build writes and the only one it reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
const FORMAT_MAGIC: &[u8; 4] = b"TWSC";

/// The prefix of tenant registry keys in `meta`; the tenant id follows.
const TENANT_REGISTRY_PREFIX: &[u8] = b"tenant/";

/// The value of the `FORMAT` record: the magic `TWSC` and the version as a big-endian `u32`.
pub(crate) fn format_value(version: u32) -> [u8; 8] {
    let mut value = [0; 8];
    value[..4].copy_from_slice(FORMAT_MAGIC);
    value[4..].copy_from_slice(&version.to_be_bytes());
    value
}

/// Reads the version out of a `FORMAT` record value.
pub(crate) fn decode_format_value(value: &[u8]) -> Result<u32, StoreError> {
    match value {
        [m0, m1, m2, m3, v0, v1, v2, v3] if [*m0, *m1, *m2, *m3] == *FORMAT_MAGIC => {
            Ok(u32::from_be_bytes([*v0, *v1, *v2, *v3]))
        }
        _ => Err(StoreError::Corrupt { what: format!("FORMAT record is not a Twinscape store header: {value:?}") }),
    }
}

/// The bytes every key of a tenant starts with, in `records` and in `events`: the id's length as one byte, then the id.
pub(crate) fn tenant_prefix(tenant: &TenantId) -> Vec<u8> {
    let id = tenant.as_str().as_bytes();
    let len = u8::try_from(id.len()).expect("TenantId::parse bounds ids to 63 bytes");
    let mut prefix = Vec::with_capacity(1 + id.len() + 9);
    prefix.push(len);
    prefix.extend_from_slice(id);
    prefix
}

/// The bytes every key of one table of a tenant starts with in `records`: the tenant prefix, then the table tag.
pub(crate) fn table_prefix(tenant: &TenantId, table: Table) -> Vec<u8> {
    let mut prefix = tenant_prefix(tenant);
    prefix.push(table.tag());
    prefix
}

/// The smallest key above every key of one table of a tenant: the table prefix with the tag moved up by one.
pub(crate) fn table_end(tenant: &TenantId, table: Table) -> Vec<u8> {
    let mut end = tenant_prefix(tenant);
    end.push(table.tag().checked_add(1).expect("table tags stay below 0xff"));
    end
}

/// The key of a record in `records`: the table prefix, then the key's UTF-8 bytes.
pub(crate) fn record_key(tenant: &TenantId, table: Table, key: &str) -> Vec<u8> {
    let mut encoded = table_prefix(tenant, table);
    encoded.extend_from_slice(key.as_bytes());
    encoded
}

/// Recovers the caller's key from a `records` key found under a table prefix of `prefix_len` bytes.
pub(crate) fn decode_record_key(encoded: &[u8], prefix_len: usize) -> Result<&str, StoreError> {
    let bytes = encoded.get(prefix_len..).ok_or_else(|| StoreError::Corrupt {
        what: format!("record key {encoded:?} is shorter than its prefix ({prefix_len} bytes)"),
    })?;
    std::str::from_utf8(bytes)
        .map_err(|err| StoreError::Corrupt { what: format!("record key {encoded:?} is not UTF-8: {err}") })
}

/// The key of an event in `events`: the tenant prefix, then the sequence number as a big-endian `u64`, so that keys sort by sequence number.
pub(crate) fn event_key(tenant: &TenantId, seq: u64) -> Vec<u8> {
    let mut encoded = tenant_prefix(tenant);
    encoded.extend_from_slice(&seq.to_be_bytes());
    encoded
}

/// Recovers the sequence number from an `events` key found under a tenant prefix of `prefix_len` bytes.
pub(crate) fn decode_event_seq(encoded: &[u8], prefix_len: usize) -> Result<u64, StoreError> {
    encoded.get(prefix_len..).and_then(|bytes| <[u8; 8]>::try_from(bytes).ok()).map(u64::from_be_bytes).ok_or_else(
        || StoreError::Corrupt { what: format!("event key {encoded:?} does not end in an 8-byte sequence number") },
    )
}

/// The key of a tenant's entry in the registry in `meta`; its value is empty.
pub(crate) fn tenant_registry_key(tenant: &TenantId) -> Vec<u8> {
    let mut encoded = TENANT_REGISTRY_PREFIX.to_vec();
    encoded.extend_from_slice(tenant.as_str().as_bytes());
    encoded
}

/// The prefix under which `meta` holds the tenant registry.
pub(crate) fn tenant_registry_prefix() -> &'static [u8] {
    TENANT_REGISTRY_PREFIX
}

/// Recovers the tenant id from a tenant registry key; the id is checked again as if it came from outside.
pub(crate) fn decode_tenant_registry_key(encoded: &[u8]) -> Result<TenantId, StoreError> {
    let id = encoded
        .strip_prefix(TENANT_REGISTRY_PREFIX)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or_else(|| StoreError::Corrupt { what: format!("tenant registry key {encoded:?} is malformed") })?;
    TenantId::parse(id).map_err(|err| StoreError::Corrupt { what: format!("tenant registry key {encoded:?}: {err}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).expect("test tenant ids are valid")
    }

    #[test]
    fn record_key_bytes() {
        let encoded = record_key(&tenant("acme"), Table::Twins, "pump-1");
        assert_eq!(encoded, b"\x04acme\x02pump-1");
        let prefix = table_prefix(&tenant("acme"), Table::Twins);
        assert!(encoded.starts_with(&prefix));
        assert_eq!(decode_record_key(&encoded, prefix.len()).ok(), Some("pump-1"));
        assert_eq!(record_key(&tenant("a"), Table::Meta, ""), b"\x01a\x05");
        assert_eq!(record_key(&tenant("acme"), Table::History, "s\0"), b"\x04acme\x07s\x00");
        assert_eq!(table_end(&tenant("acme"), Table::History), b"\x04acme\x08");
    }

    #[test]
    fn event_key_bytes() {
        let encoded = event_key(&tenant("acme"), 258);
        assert_eq!(encoded, b"\x04acme\x00\x00\x00\x00\x00\x00\x01\x02");
        assert_eq!(decode_event_seq(&encoded, 5).ok(), Some(258));
        assert!(decode_event_seq(&encoded[..12], 5).is_err());
    }

    #[test]
    fn event_keys_sort_by_seq() {
        let keys: Vec<Vec<u8>> =
            [1, 255, 256, 65_536, u64::MAX].iter().map(|&seq| event_key(&tenant("t"), seq)).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn tenant_prefixes_do_not_nest() {
        // Without the length byte, tenant "a" would be a prefix of tenant "ab" and a scan of "a" would see "ab"'s records.
        let short = tenant_prefix(&tenant("a"));
        let long = tenant_prefix(&tenant("ab"));
        assert!(!long.starts_with(&short));
    }

    #[test]
    fn tenant_registry_round_trip() {
        let encoded = tenant_registry_key(&tenant("acme"));
        assert_eq!(encoded, b"tenant/acme");
        assert_eq!(decode_tenant_registry_key(&encoded).ok(), Some(tenant("acme")));
        assert!(decode_tenant_registry_key(b"tenant/Bad").is_err());
        assert!(decode_tenant_registry_key(b"other/acme").is_err());
    }

    #[test]
    fn format_value_bytes() {
        assert_eq!(format_value(1), *b"TWSC\x00\x00\x00\x01");
        assert_eq!(decode_format_value(&format_value(7)).ok(), Some(7));
        assert!(decode_format_value(b"TWSC\x00\x01").is_err());
        assert!(decode_format_value(b"XXXX\x00\x00\x00\x01").is_err());
    }
}
