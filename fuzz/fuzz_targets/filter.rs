//! Fuzz target `filter`. The filter parser, printer and evaluator, and filtered search through
//! payload indexes and HNSW graphs: the input is a filter's JSON text. See
//! `ndb::testing::fuzz_filter` and docs/FUZZING.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndb::testing::fuzz_filter(data));
