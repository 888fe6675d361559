//! Fuzz target `segment`. Segment opening and reading: the input replaces or mutates a segment,
//! deletion, HNSW index or payload index file of a small real collection (optionally re-forging its
//! checksums). See `ndb_testkit::fuzz_segment` and docs/FUZZING.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndb_testkit::fuzz_segment(data));
