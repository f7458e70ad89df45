//! Tokens of the text form, read from a stream.
