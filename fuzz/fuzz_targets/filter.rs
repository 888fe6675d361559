//! Fuzz target `filter`. The filter parser, printer and evaluator, and filtered search through
//! payload indexes and HNSW graphs: the input is a filter's JSON text. See
//! `ndb_testkit::fuzz_filter` and docs/FUZZING.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndb_testkit::fuzz_filter(data));
