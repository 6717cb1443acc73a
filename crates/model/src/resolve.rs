//! Whole-model checks.
