//! Semantic types and units: the DTDL v2 core set and the v3 QuantitativeTypes extension, with which units each semantic type accepts.
