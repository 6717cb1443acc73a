//! The errors of graph operations, named for who is at fault, each with the reason the REST faces turn into their own error codes.
//!
//! The graph never chooses HTTP statuses; `server` maps every variant in one exhaustive match.

use thiserror::Error;

/// Why input was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// A value, a property name or a component does not conform to the model.
    ValidationFailed,
    /// A JSON Patch document is malformed or uses an operation or path that is not allowed.
    JsonPatchInvalid,
    /// A model upload does not parse or validate as DTDL.
    DtdlParserError,
    /// The twin still has relationships and no cascade was asked for.
    RelationshipsNotDeleted,
    /// A relationship from a twin to itself.
    OperationNotAllowed,
    /// The twin's model is decommissioned.
    ModelDecommissioned,
    /// The relationship is not declared by the source twin's model, or its target's model is not the declared target.
    InvalidRelationship,
    /// Anything else malformed in the request (ids, bodies).
    InvalidArgument,
}

/// What was not found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Twin,
    TargetTwin,
    Relationship,
    Model,
    Component,
}

/// Which state conflicts with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clash {
    ModelAlreadyExists,
    /// The model is still used by other models or by twins.
    ModelReferencesNotDeleted,
    /// A conditional request whose `If-Match` or `If-None-Match` does not hold.
    PreconditionFailed,
    /// A containment relationship would give a twin a second, different containment parent.
    ContainmentParent,
    /// A containment relationship would place a twin inside its own subtree.
    ContainmentCycle,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum GraphError {
    #[error("{message}")]
    InvalidInput { reason: Invalid, message: String },
    #[error("{message}")]
    NotFound { what: Missing, message: String },
    #[error("{message}")]
    Conflict { reason: Clash, message: String },
    #[error("{what} limit exceeded: {actual} > {limit}")]
    LimitExceeded { what: &'static str, limit: usize, actual: usize },
}

impl GraphError {
    pub(crate) fn invalid(reason: Invalid, message: impl Into<String>) -> Self {
        GraphError::InvalidInput { reason, message: message.into() }
    }

    pub(crate) fn not_found(what: Missing, message: impl Into<String>) -> Self {
        GraphError::NotFound { what, message: message.into() }
    }

    pub(crate) fn conflict(reason: Clash, message: impl Into<String>) -> Self {
        GraphError::Conflict { reason, message: message.into() }
    }
}
