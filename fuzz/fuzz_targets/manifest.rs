//! Fuzz target `manifest`. Manifest parsing and validation: the input replaces or mutates the
//! database or collection manifest of a small real database (raw, mutated, or as a JSON body in a
//! valid envelope). See `ndb_testkit::fuzz_manifest` and docs/FUZZING.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndb_testkit::fuzz_manifest(data));
