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
/// The store format this build writes: events are stored in pages.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The earlier format, which stored each event under its own key; this build reads such events, and its writer makes such a directory `FORMAT_VERSION` in the commit of its first page.
pub(crate) const FORMAT_VERSION_SINGLE_EVENTS: u32 = 1;
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

/// The key of a page of events in `events`: the tenant prefix, the sequence number of the page's last event as a big-endian `u64`, then `PAGE_TAG`.
/// It sorts after the single-event key of the same number and before that of the next, so single events (format 1) and pages share one order.
pub(crate) fn event_page_key(tenant: &TenantId, last: u64) -> Vec<u8> {
    let mut encoded = event_key(tenant, last);
    encoded.push(PAGE_TAG);
    encoded
}

/// The byte after the sequence number that makes an `events` key a page's.
const PAGE_TAG: u8 = b'p';

/// What an `events` key holds: one event (format 1) or a page of events ending at `last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventEntry {
    One(u64),
    Page { last: u64 },
}

impl EventEntry {
    /// The sequence number of the entry's last event.
    pub(crate) fn last(self) -> u64 {
        match self {
            EventEntry::One(seq) | EventEntry::Page { last: seq } => seq,
        }
    }
}

/// Recovers what an `events` key found under a tenant prefix of `prefix_len` bytes holds.
pub(crate) fn decode_event_key(encoded: &[u8], prefix_len: usize) -> Result<EventEntry, StoreError> {
    let corrupt = || StoreError::Corrupt {
        what: format!("event key {encoded:?} does not end in an 8-byte sequence number, with or without a page tag"),
    };
    let rest = encoded.get(prefix_len..).ok_or_else(corrupt)?;
    match rest {
        [seq @ .., PAGE_TAG] if seq.len() == 8 => {
            Ok(EventEntry::Page { last: u64::from_be_bytes(seq.try_into().map_err(|_| corrupt())?) })
        }
        seq => Ok(EventEntry::One(u64::from_be_bytes(seq.try_into().map_err(|_| corrupt())?))),
    }
}

/// The first byte of a page's value: the page format.
const PAGE_FORMAT: u8 = 1;
/// How a page's body is stored: as it is, or compressed with LZ4 (the block format).
const PAGE_RAW: u8 = 0;
const PAGE_LZ4: u8 = 1;
/// Page format, codec, count of events, length of the body before compression.
const PAGE_HEADER_BYTES: usize = 1 + 1 + 4 + 4;
/// The most bytes LZ4 makes of one compressed byte, which bounds the body a page can state before it is decompressed.
const LZ4_EXPANSION_MAX: usize = 255;
/// The body bytes a page gathers before the writer starts another: a read of one event decompresses its whole page, so pages stay small, while a commit of a busy server's batches, a few hundred events, still compresses as one.
pub(crate) const PAGE_BODY_BYTES_MAX: usize = 256 * 1024;

/// The value of a page holding `payloads` in order: the page format, the codec, the count of events and the body's length (each `u32` big-endian), then the body, compressed when that makes it smaller.
/// The body is each payload's length (`u32` big-endian) followed by the payload.
pub(crate) fn encode_page<P: AsRef<[u8]>>(payloads: &[P]) -> Vec<u8> {
    let body_len: usize = payloads.iter().map(|p| 4 + p.as_ref().len()).sum();
    let mut body = Vec::with_capacity(body_len);
    for payload in payloads {
        let payload = payload.as_ref();
        body.extend_from_slice(&u32::try_from(payload.len()).expect("events are below 4 GiB").to_be_bytes());
        body.extend_from_slice(payload);
    }
    let count = u32::try_from(payloads.len()).expect("a page holds fewer than 2^32 events");
    let raw_len = u32::try_from(body.len()).expect("a page is below 4 GiB");
    let compressed = lz4_flex::block::compress(&body);
    let (codec, stored) = if compressed.len() < body.len() { (PAGE_LZ4, &compressed) } else { (PAGE_RAW, &body) };
    let mut value = Vec::with_capacity(PAGE_HEADER_BYTES + stored.len());
    value.push(PAGE_FORMAT);
    value.push(codec);
    value.extend_from_slice(&count.to_be_bytes());
    value.extend_from_slice(&raw_len.to_be_bytes());
    value.extend_from_slice(stored);
    value
}

/// How many events the page `value` holds, read from its header alone.
pub(crate) fn page_len(value: &[u8]) -> Result<u64, StoreError> {
    page_header(value).map(|(_, count, _)| u64::from(count))
}

/// The payloads of the page `value`, in order; anything malformed is `Corrupt`.
pub(crate) fn decode_page(value: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt { what: format!("event page: {why}") };
    let (codec, count, raw_len) = page_header(value)?;
    let stored = &value[PAGE_HEADER_BYTES..];
    let decompressed;
    let body = match codec {
        PAGE_RAW => stored,
        // The stated length is checked against what the stored bytes can hold before anything is allocated for it.
        PAGE_LZ4 if raw_len as usize > stored.len().saturating_mul(LZ4_EXPANSION_MAX) => {
            return Err(corrupt(&format!("{} compressed bytes cannot hold a body of {raw_len}", stored.len())));
        }
        PAGE_LZ4 => {
            decompressed = lz4_flex::block::decompress(stored, raw_len as usize)
                .map_err(|err| corrupt(&format!("the body does not decompress: {err}")))?;
            &decompressed[..]
        }
        other => return Err(corrupt(&format!("unknown codec {other}"))),
    };
    if body.len() != raw_len as usize {
        return Err(corrupt(&format!("the body has {} bytes where the header says {raw_len}", body.len())));
    }
    // Each event takes at least its 4-byte length, so a count the body cannot hold allocates no more than the body.
    let mut payloads = Vec::with_capacity((count as usize).min(body.len() / 4));
    let mut rest = body;
    for _ in 0..count {
        let (len, after) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("an event's length is cut short"))?;
        let len = u32::from_be_bytes(*len) as usize;
        let payload = after.get(..len).ok_or_else(|| corrupt("an event is cut short"))?;
        payloads.push(payload.to_vec());
        rest = &after[len..];
    }
    if !rest.is_empty() {
        return Err(corrupt(&format!("{} bytes follow the last event", rest.len())));
    }
    Ok(payloads)
}

/// The codec, count of events and body length of a page, checked for a known page format and at least one event.
fn page_header(value: &[u8]) -> Result<(u8, u32, u32), StoreError> {
    let corrupt = |why: String| StoreError::Corrupt { what: format!("event page: {why}") };
    let header: &[u8; PAGE_HEADER_BYTES] =
        value.first_chunk().ok_or_else(|| corrupt(format!("{} bytes are too short for its header", value.len())))?;
    let [format, codec, c0, c1, c2, c3, l0, l1, l2, l3] = *header;
    if format != PAGE_FORMAT {
        return Err(corrupt(format!("unknown page format {format}")));
    }
    let count = u32::from_be_bytes([c0, c1, c2, c3]);
    if count == 0 {
        return Err(corrupt("it holds no event".to_owned()));
    }
    Ok((codec, count, u32::from_be_bytes([l0, l1, l2, l3])))
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
        assert_eq!(decode_event_key(&encoded, 5).ok(), Some(EventEntry::One(258)));
        assert!(decode_event_key(&encoded[..12], 5).is_err());
        let page = event_page_key(&tenant("acme"), 258);
        assert_eq!(page, b"\x04acme\x00\x00\x00\x00\x00\x00\x01\x02p");
        assert_eq!(decode_event_key(&page, 5).ok(), Some(EventEntry::Page { last: 258 }));
        let mut other_tag = page.clone();
        other_tag[13] = b'q';
        assert!(decode_event_key(&other_tag, 5).is_err());
        assert!(decode_event_key(&[page.as_slice(), b"p"].concat(), 5).is_err());
    }

    #[test]
    fn event_keys_sort_by_seq() {
        // Single events (format 1) and pages interleave by the sequence number their key names.
        let t = tenant("t");
        let keys = [
            event_key(&t, 1),
            event_page_key(&t, 1),
            event_key(&t, 255),
            event_page_key(&t, 256),
            event_key(&t, 65_536),
            event_key(&t, u64::MAX),
            event_page_key(&t, u64::MAX),
        ];
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn pages_round_trip_compressed_or_not() {
        let alike: Vec<Vec<u8>> =
            (0..50).map(|i| format!("{{\"eventType\":\"DeviceMessage\",\"n\":{i}}}").into_bytes()).collect();
        let page = encode_page(&alike);
        assert_eq!(page[..2], [PAGE_FORMAT, PAGE_LZ4]);
        assert!(page.len() < alike.iter().map(Vec::len).sum::<usize>() / 2, "{} bytes", page.len());
        assert_eq!(page_len(&page).ok(), Some(50));
        assert_eq!(decode_page(&page).ok(), Some(alike));
        // Bytes that do not compress are stored as they are; an empty payload is an event too.
        let small = vec![b"\x01\x02\x03".to_vec(), Vec::new()];
        let page = encode_page(&small);
        assert_eq!(page, b"\x01\x00\x00\x00\x00\x02\x00\x00\x00\x0b\x00\x00\x00\x03\x01\x02\x03\x00\x00\x00\x00");
        assert_eq!(decode_page(&page).ok(), Some(small));
    }

    #[test]
    fn malformed_pages_are_corrupt() {
        let page = encode_page(&[b"abc".to_vec()]);
        let mut trailing = page.clone();
        trailing.push(0);
        let mut zero = page.clone();
        zero[2..6].copy_from_slice(&0u32.to_be_bytes());
        let mut two = page.clone();
        two[2..6].copy_from_slice(&2u32.to_be_bytes());
        let mut format = page.clone();
        format[0] = 9;
        let mut codec = page.clone();
        codec[1] = 7;
        let mut lz4 = encode_page(&[b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".to_vec()]);
        assert_eq!(lz4[1], PAGE_LZ4);
        // A body longer than the compressed bytes can hold is refused before anything is allocated for it.
        let mut huge = lz4.clone();
        huge[6..10].copy_from_slice(&u32::MAX.to_be_bytes());
        let at = lz4.len() - 3;
        lz4.truncate(at);
        for (what, bad) in [
            ("short", &page[..5]),
            ("trailing", &trailing[..]),
            ("no event", &zero[..]),
            ("count", &two[..]),
            ("format", &format[..]),
            ("codec", &codec[..]),
            ("lz4", &lz4[..]),
            ("huge", &huge[..]),
        ] {
            assert!(matches!(decode_page(bad), Err(StoreError::Corrupt { .. })), "{what}");
        }
        assert!(page_len(&zero).is_err());
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
