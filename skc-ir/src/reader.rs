//! The reading pipeline: text → parsed item → normalised, SSA, verified.
