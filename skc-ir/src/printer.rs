//! Items to canonical text.
