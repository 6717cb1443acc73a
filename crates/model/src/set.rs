//! The resolved model set.
#[derive(Debug, Default)]
pub struct ModelSet {}
