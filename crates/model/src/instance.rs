//! Instance validation: whether a JSON value conforms to a resolved schema.
