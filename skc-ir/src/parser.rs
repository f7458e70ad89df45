//! Text to items, one at a time.
