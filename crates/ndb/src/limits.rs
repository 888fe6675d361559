//! Every limit in one place, with their relations checked at compile time.

/// Largest vector dimension.
pub const DIM_MAX: usize = 65_536;
/// Longest document id, in UTF-8 bytes.
pub const ID_BYTES_MAX: usize = 1024;
/// Largest serialized JSON payload of one document, in bytes.
pub const PAYLOAD_BYTES_MAX: usize = 16 << 20;
/// Deepest nesting of a payload: the payload object is level 1, each object or array inside
/// it one more. Inserts refuse deeper payloads, so every stored payload decodes (the JSON decoder
/// refuses input nested 128 levels or more).
pub const PAYLOAD_DEPTH_MAX: usize = 64;
/// Largest WAL record (one `insert_batch` or `delete` call), in bytes.
pub const WAL_RECORD_BYTES_MAX: usize = 1 << 30;
/// Longest collection name (names match `[A-Za-z0-9_-]{1,64}`).
pub const COLLECTION_NAME_BYTES_MAX: usize = 64;
/// Default memtable size that triggers a flush to a new segment.
pub const FLUSH_THRESHOLD_BYTES_DEFAULT: usize = 64 << 20;
/// Smallest configurable flush threshold.
pub const FLUSH_THRESHOLD_BYTES_MIN: usize = 4 << 10;
/// Most rows in one segment (row numbers are `u32`).
pub const SEGMENT_ROWS_MAX: u64 = u32::MAX as u64;
/// How often a read-only open retries when a concurrent writer replaced files under it.
pub const READ_ONLY_OPEN_RETRIES: usize = 20;

const _: () = assert!(
    ID_BYTES_MAX <= u16::MAX as usize,
    "ids are length-prefixed with u16"
);
const _: () = assert!(
    WAL_RECORD_BYTES_MAX <= u32::MAX as usize,
    "WAL lengths are u32"
);
const _: () = assert!(PAYLOAD_BYTES_MAX < WAL_RECORD_BYTES_MAX);
const _: () = assert!(
    PAYLOAD_DEPTH_MAX < 128,
    "serde_json's decoder refuses nesting of 128 levels: every accepted payload must decode"
);
const _: () = assert!(DIM_MAX * 4 + ID_BYTES_MAX + PAYLOAD_BYTES_MAX < WAL_RECORD_BYTES_MAX);
const _: () = assert!(FLUSH_THRESHOLD_BYTES_MIN <= FLUSH_THRESHOLD_BYTES_DEFAULT);
