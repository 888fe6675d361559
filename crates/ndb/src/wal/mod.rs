//! Write-ahead log: every acknowledged write is a record here before it reaches the memtable.
//!
//! A collection's WAL is a sequence of files `wal-GGGGGG.log` (generation `G`). A flush rotates
//! to a new generation; once the manifest records that the older generation's records live in
//! segments, the older file is deleted. See docs/FORMAT.md, "WAL".

mod file;
pub(crate) mod record;
mod resync;

#[cfg(test)]
pub(crate) use file::encode_header;
pub(crate) use file::{
    check_header, list_generations, scan, wal_file_name, AppendError, WalScan, WalWriter,
    WAL_HEADER_LEN,
};
pub(crate) use record::{decode, Decoded, EncodedRecord, WalOp};
pub(crate) use resync::find_valid_record_after;
