//! WAL files: header, append with cut-back on failure, rotation, and recovery scans.

use super::record::{decode, Decoded, EncodedRecord, WalOp};
use super::resync::find_valid_record_after;
use crate::codec::{crc32c, Reader};
use crate::error::IoContext;
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs, VfsFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const WAL_MAGIC: [u8; 8] = *b"NDBWAL\0\0";
/// Newest WAL format this build writes and reads.
pub(crate) const WAL_VERSION: u32 = 1;
/// Bytes of the file header; records start here.
pub(crate) const WAL_HEADER_LEN: u64 = 32;

/// File name of generation `gen`.
pub(crate) fn wal_file_name(gen: u64) -> String {
    format!("wal-{gen:06}.log")
}

fn parse_wal_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .filter(|&g| g <= crate::manifest::COUNTER_MAX)
}

/// Generations of the WAL files present in `dir`, ascending.
pub(crate) fn list_generations(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<u64>> {
    let mut gens: Vec<u64> = vfs
        .list_dir(dir)
        .at(dir)?
        .into_iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| parse_wal_file_name(&e.name))
        .collect();
    gens.sort_unstable();
    Ok(gens)
}

/// The header of generation `gen`'s file (docs/FORMAT.md, "WAL").
pub(crate) fn encode_header(gen: u64) -> [u8; WAL_HEADER_LEN as usize] {
    let mut h = [0u8; WAL_HEADER_LEN as usize];
    h[0..8].copy_from_slice(&WAL_MAGIC);
    h[8..12].copy_from_slice(&WAL_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&gen.to_le_bytes());
    let crc = crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// One valid record of a scanned WAL file.
#[derive(Debug)]
pub(crate) struct WalEntry {
    pub seq: u64,
    /// Byte offset of the record in its file.
    pub offset: u64,
    pub op: WalOp,
}

/// The result of reading one WAL file.
#[derive(Debug)]
pub(crate) struct WalScan {
    /// Valid records in file order.
    pub records: Vec<WalEntry>,
    /// Length of the valid prefix (header and whole records). 0 if the header itself is torn.
    pub valid_len: u64,
    /// Bytes after the valid prefix (a torn tail), to be cut off by a writer.
    pub torn_bytes: u64,
}

/// Read a WAL file's bytes. A torn tail (an incomplete or damaged last record with nothing valid
/// after it) ends the valid prefix; damage followed by a valid record is `Error::Corruption`.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(crate) fn scan(bytes: &[u8], path: &Path, gen: u64, dim: usize) -> Result<WalScan> {
    let file_len = bytes.len() as u64;
    if file_len < WAL_HEADER_LEN {
        // Crash while the header was written: nothing was ever appended after it.
        return Ok(WalScan {
            records: Vec::new(),
            valid_len: 0,
            torn_bytes: file_len,
        });
    }
    check_header(bytes, path, gen)?;
    let mut pos = WAL_HEADER_LEN as usize;
    let mut records = Vec::new();
    let mut last_seq: Option<u64> = None;
    while let Some(rest) = bytes.get(pos..).filter(|rest| !rest.is_empty()) {
        match decode(rest, dim) {
            Decoded::Record { seq, op, len } => {
                if let Some(prev) = last_seq {
                    if seq <= prev {
                        return Err(Error::corruption(
                            path,
                            pos as u64,
                            format!("sequence number {seq} does not follow {prev}"),
                        ));
                    }
                }
                last_seq = Some(seq);
                records.push(WalEntry {
                    seq,
                    offset: pos as u64,
                    op,
                });
                pos = pos.saturating_add(len);
            }
            Decoded::Incomplete => {
                // A damaged length can also look like a record running past the end.
                let what = "WAL record claims to run past the end of the file".to_string();
                return_if_damage(bytes, pos, last_seq, dim, path, what)?;
                break;
            }
            Decoded::Invalid(reason) => {
                let what = format!("damaged WAL record ({reason})");
                return_if_damage(bytes, pos, last_seq, dim, path, what)?;
                break;
            }
        }
    }
    Ok(WalScan {
        records,
        valid_len: pos as u64,
        torn_bytes: file_len.saturating_sub(pos as u64),
    })
}

/// Check the header of the WAL file `path` of generation `gen` whose bytes are `bytes` (at
/// least [`WAL_HEADER_LEN`] of them).
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(crate) fn check_header(bytes: &[u8], path: &Path, gen: u64) -> Result<()> {
    let mut r = Reader::new(bytes);
    let header_ok = r.array::<8>() == Some(WAL_MAGIC);
    let version = r.u32().unwrap_or(0);
    let _reserved = r.u32();
    let file_gen = r.u64().unwrap_or(0);
    let _reserved = r.u32();
    let stored_crc = r.u32().unwrap_or(0);
    if !header_ok {
        return Err(Error::corruption(path, 0, "bad WAL magic"));
    }
    // The checksum before the version: a damaged version field is damage, not a newer format.
    if Some(stored_crc) != bytes.get(0..28).map(crc32c) {
        return Err(Error::corruption(path, 0, "WAL header checksum mismatch"));
    }
    if version > WAL_VERSION {
        return Err(Error::UnsupportedFormat {
            file: path.to_path_buf(),
            found: version,
            supported: WAL_VERSION,
        });
    }
    if file_gen != gen {
        return Err(Error::corruption(
            path,
            16,
            format!("WAL header says generation {file_gen}, file name says {gen}"),
        ));
    }
    Ok(())
}

/// After a record at `pos` that does not decode: damage (`Corruption`) if a valid record
/// follows, else a torn tail (`Ok`).
fn return_if_damage(
    bytes: &[u8],
    pos: usize,
    last_seq: Option<u64>,
    dim: usize,
    path: &Path,
    what: String,
) -> Result<()> {
    match find_valid_record_after(bytes, pos.saturating_add(1), last_seq, dim) {
        Some(at) => Err(Error::corruption(
            path,
            pos as u64,
            format!("{what}, but a valid record follows at offset {at}"),
        )),
        None => Ok(()),
    }
}

/// Appends records to the newest WAL file.
#[derive(Debug)]
pub(crate) struct WalWriter {
    dir: PathBuf,
    gen: u64,
    path: PathBuf,
    file: Arc<dyn VfsFile>,
    /// End of the last complete record: where the next append goes.
    end: u64,
    /// Sequence number of the next record.
    next_seq: u64,
}

impl WalWriter {
    /// Create generation `gen` (a new file with its header), durably.
    pub fn create(vfs: &dyn Vfs, dir: &Path, gen: u64, next_seq: u64) -> Result<Self> {
        let path = dir.join(wal_file_name(gen));
        let file: Arc<dyn VfsFile> =
            Arc::from(vfs.open(&path, OpenMode::CreateTruncate).at(&path)?);
        file.write_all_at(&encode_header(gen), 0).at(&path)?;
        file.sync_data().at(&path)?;
        vfs.sync_dir(dir).at(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            gen,
            path,
            file,
            end: WAL_HEADER_LEN,
            next_seq,
        })
    }

    /// Continue an existing file whose valid prefix is `valid_len` bytes: cut off any torn tail
    /// (durably) and append after it.
    pub fn resume(
        vfs: &dyn Vfs,
        dir: &Path,
        gen: u64,
        valid_len: u64,
        next_seq: u64,
    ) -> Result<Self> {
        if valid_len < WAL_HEADER_LEN {
            return Self::create(vfs, dir, gen, next_seq);
        }
        let path = dir.join(wal_file_name(gen));
        let file: Arc<dyn VfsFile> = Arc::from(vfs.open(&path, OpenMode::ReadWrite).at(&path)?);
        if file.len().at(&path)? != valid_len {
            file.set_len(valid_len).at(&path)?;
            file.sync_data().at(&path)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            gen,
            path,
            file,
            end: valid_len,
            next_seq,
        })
    }

    /// Append `rec` with the next sequence number. On failure the file is cut back to the end
    /// of the last good record; `Err(Fatal)` means even that failed.
    pub fn append(&mut self, rec: &mut EncodedRecord) -> std::result::Result<u64, AppendError> {
        let seq = self.next_seq;
        let bytes = rec.finish(seq);
        match self.file.write_all_at(bytes, self.end) {
            Ok(()) => {
                self.end += bytes.len() as u64;
                self.next_seq += 1;
                Ok(seq)
            }
            Err(e) => {
                let err = Error::io(&self.path, e);
                match self.file.set_len(self.end) {
                    Ok(()) => Err(AppendError::Failed(err)),
                    Err(cut) => Err(AppendError::Fatal(format!(
                        "{err}; cutting the WAL back to {} bytes also failed: {cut}",
                        self.end
                    ))),
                }
            }
        }
    }

    /// Make every appended record durable (`fdatasync`) and start generation `gen + 1`.
    pub fn rotate(&mut self, vfs: &dyn Vfs) -> Result<()> {
        self.file.sync_data().at(&self.path)?;
        *self = Self::create(vfs, &self.dir, self.gen + 1, self.next_seq)?;
        Ok(())
    }

    /// Current generation.
    pub fn generation(&self) -> u64 {
        self.gen
    }

    /// Sequence number of the last appended record (0 if none yet).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Bytes in the current file.
    pub fn bytes(&self) -> u64 {
        self.end
    }

    /// The current file, for a syncing thread, with its path.
    pub fn file(&self) -> (Arc<dyn VfsFile>, PathBuf) {
        (Arc::clone(&self.file), self.path.clone())
    }
}

/// Why an append failed.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The append failed and was cut back: the WAL is as before, the caller may go on.
    Failed(Error),
    /// The append failed and the WAL could not be restored: the collection must be poisoned.
    Fatal(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PreparedDoc;

    fn rec(id: &str) -> EncodedRecord {
        EncodedRecord::put(&[PreparedDoc {
            id: id.into(),
            vector: vec![1.0, 2.0],
            payload_json: vec![],
        }])
        .unwrap()
    }

    fn log_with(n: usize) -> Vec<u8> {
        let mut out = encode_header(3).to_vec();
        for i in 0..n {
            out.extend_from_slice(rec(&format!("d{i}")).finish(i as u64 + 10));
        }
        out
    }

    #[test]
    fn torn_tail_is_cut_at_the_last_whole_record() {
        let full = log_with(3);
        let whole = scan(&full, Path::new("w"), 3, 2).unwrap();
        assert_eq!(whole.records.len(), 3);
        assert_eq!(whole.torn_bytes, 0);
        for cut in WAL_HEADER_LEN as usize..full.len() {
            let s = scan(&full[..cut], Path::new("w"), 3, 2).unwrap();
            assert!(s.records.len() < 3);
            assert_eq!(s.valid_len + s.torn_bytes, cut as u64);
        }
    }

    #[test]
    fn damage_before_a_valid_record_is_corruption_and_in_the_last_is_a_torn_tail() {
        let full = log_with(3);
        let first = WAL_HEADER_LEN as usize + 20;
        let mut mid = full.clone();
        mid[first] ^= 0x40;
        let err = scan(&mid, Path::new("w"), 3, 2).unwrap_err();
        assert!(matches!(err, Error::Corruption { offset: 32, .. }), "{err}");
        let mut last = full.clone();
        let n = last.len();
        last[n - 3] ^= 0x01;
        let s = scan(&last, Path::new("w"), 3, 2).unwrap();
        assert_eq!(s.records.len(), 2);
        assert!(s.torn_bytes > 0);
    }

    /// The contracts the rest of the engine relies on when writers run concurrently with a
    /// flush: a created WAL file (header and directory entry) is durable when `create` returns,
    /// and `rotate` makes every record appended so far durable, so a power loss can never keep
    /// a record of the new generation and lose one of the old.
    #[test]
    fn create_and_rotate_are_durable() {
        use ndb_storage::{CrashMode, SimVfs};
        let vfs = SimVfs::new(3);
        let dir = Path::new("/c");
        vfs.create_dir_all(dir).unwrap();
        vfs.sync_dir(Path::new("/")).unwrap();
        let mut w = WalWriter::create(&vfs, dir, 1, 1).unwrap();
        w.append(&mut rec("a")).unwrap();
        w.append(&mut rec("b")).unwrap();
        w.rotate(&vfs).unwrap();
        vfs.crash(CrashMode::PowerLoss);
        let old = vfs
            .volatile_contents(dir.join(wal_file_name(1)))
            .expect("old generation survives");
        let scan = scan(&old, Path::new("w1"), 1, 2).unwrap();
        assert_eq!(
            scan.records.len(),
            2,
            "records appended before the rotation are durable"
        );
        let new = vfs
            .volatile_contents(dir.join(wal_file_name(2)))
            .expect("new generation survives");
        assert_eq!(new.len() as u64, WAL_HEADER_LEN, "its header is durable");
        assert!(super::scan(&new, Path::new("w2"), 2, 2).is_ok());
    }

    #[test]
    fn header_checks() {
        let full = log_with(1);
        assert!(
            scan(&full, Path::new("w"), 4, 2).is_err(),
            "generation mismatch"
        );
        let mut bad = full.clone();
        bad[1] ^= 1;
        assert!(scan(&bad, Path::new("w"), 3, 2).is_err());
        let s = scan(&full[..10], Path::new("w"), 3, 2).unwrap();
        assert_eq!((s.valid_len, s.records.len()), (0, 0));
        assert_eq!(parse_wal_file_name("wal-000012.log"), Some(12));
        assert_eq!(parse_wal_file_name("wal-12.log"), None);
        assert_eq!(
            parse_wal_file_name(&wal_file_name(1_234_567)),
            Some(1_234_567)
        );
    }
}
