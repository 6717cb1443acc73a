//! The `twinscape` command line.
fn main() {}
