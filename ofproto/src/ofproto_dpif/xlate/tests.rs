//! Unit tests of translation.
