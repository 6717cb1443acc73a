//! `TenantId`, the name of a tenant, which scopes every table and event log in the store.
//! It only checks the spelling of a name; whether a tenant exists or may be used is decided elsewhere.

use std::fmt;

use crate::StoreError;

/// The name of a tenant: 1 to 63 characters of `[a-z0-9-]`, not starting or ending with `-`.
///
/// The alphabet keeps tenant ids safe in keys, paths, URLs and log lines alike; the length fits a one-byte length prefix in the key encoding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// The longest tenant id, in bytes.
    pub const LEN_MAX: usize = 63;

    /// Checks `text` and makes a tenant id of it.
    pub fn parse(text: &str) -> Result<TenantId, StoreError> {
        let invalid = |why: &str| StoreError::InvalidInput { what: format!("tenant id {text:?} {why}") };
        if text.is_empty() || text.len() > TenantId::LEN_MAX {
            return Err(invalid("must be 1 to 63 characters long"));
        }
        if !text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(invalid("may only contain a-z, 0-9 and '-'"));
        }
        if text.starts_with('-') || text.ends_with('-') {
            return Err(invalid("must not start or end with '-'"));
        }
        Ok(TenantId(text.to_owned()))
    }

    /// The tenant that a single-tenant installation uses: `default`.
    pub fn default_tenant() -> TenantId {
        TenantId("default".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::TenantId;

    fn check(text: &str, ok: bool) {
        let parsed = TenantId::parse(text);
        assert_eq!(parsed.is_ok(), ok, "{text:?}: {parsed:?}");
        if let Ok(id) = parsed {
            assert_eq!(id.as_str(), text);
        }
    }

    #[test]
    fn accepts_valid_names() {
        check("default", true);
        check("a", true);
        check("acme-01", true);
        check("0", true);
        check(&"x".repeat(63), true);
    }

    #[test]
    fn rejects_invalid_names() {
        check("", false);
        check(&"x".repeat(64), false);
        check("-acme", false);
        check("acme-", false);
        check("-", false);
        check("Acme", false);
        check("acme_01", false);
        check("acme 01", false);
        check("ac/me", false);
        check("é", false);
    }

    #[test]
    fn default_tenant_parses() {
        assert_eq!(TenantId::parse("default").ok(), Some(TenantId::default_tenant()));
    }
}
