//! Benchmarks of the flow model's codecs (filled in below).

fn main() {}
