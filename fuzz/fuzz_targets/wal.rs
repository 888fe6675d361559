//! Fuzz target `wal`. The WAL decoder and recovery: the input becomes a collection's WAL file (raw,
//! after a valid header, as checksummed records around input bodies, or as well-formed put/delete
//! records). See `ndb_testkit::fuzz_wal` and docs/FUZZING.md.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ndb_testkit::fuzz_wal(data));
