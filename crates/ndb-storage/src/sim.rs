//! The simulated file system: in memory, deterministic (one seeded [`SplitMix`]), with crashes
//! and injected faults.
//!
//! Model (strict POSIX, the weakest guarantees a real file system gives):
//! - Every file has a *volatile* image (what the running process reads), a *durable* image (what
//!   survives power loss) and the ordered list of mutations (writes, `set_len`) made since its
//!   last sync. `sync_data`/`sync_all` make contents and length durable, not the file's name.
//! - Every directory has volatile and durable entries. Creating, renaming and removing change
//!   only volatile entries; [`Vfs::sync_dir`] makes that one directory's entries durable. A new
//!   file (or directory) survives power loss only if its parent was synced after its creation.
//! - [`SimVfs::crash`] ends the simulated process: all handles and locks die. With
//!   [`CrashMode::PowerLoss`] every directory and file falls back to its durable image;
//!   [`CrashMode::PowerLossTorn`] also applies a random in-order prefix of each file's pending
//!   mutations, the last write possibly torn.
//! - [`Fault`]s fail syncs, writes and reads, run out of space, or halt the file system at the
//!   k-th sync so a test can crash it exactly there.
//!
//! Paths may be absolute or relative (both resolve from the one root); `..` is rejected.

use crate::{DirEntry, LockGuard, Mapping, OpenMode, SplitMix, Vfs, VfsFile};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

const ROOT: u64 = 0;
/// Largest file the simulation holds; larger lengths fail with `FileTooLarge` instead of
/// exhausting memory.
const MAX_FILE_LEN: u64 = 1 << 32;

/// How the simulated process ends in [`SimVfs::crash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// The process dies; the kernel's page cache survives (volatile state is kept).
    ProcessKill,
    /// The machine loses power: every file and directory reverts to its durable image.
    PowerLoss,
    /// Power loss on a disk that wrote part of the un-synced data: each file gets its durable
    /// image plus a random in-order prefix of its pending mutations, the last write possibly
    /// torn (only a prefix of its bytes applied).
    PowerLossTorn,
}

/// A fault to inject with [`SimVfs::inject`]. Faults survive [`SimVfs::crash`]; remove them with
/// [`SimVfs::clear_faults`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next `after` sync calls (file and directory, counted together) succeed; the one after
    /// fails with EIO without making anything durable. Consumed when it fires.
    FailSync {
        /// Syncs that succeed before the failing one.
        after: u64,
    },
    /// From now on only `free_bytes` more bytes of file data fit (total volatile size of all
    /// live files). A write that does not fit writes the prefix that fits and fails with
    /// ENOSPC; a `set_len` that does not fit fails with ENOSPC and changes nothing. Shrinking or
    /// removing files frees space. Lasts until cleared.
    NoSpace {
        /// Bytes that may still be added.
        free_bytes: u64,
    },
    /// The next `after` `write_all_at` calls succeed; the one after writes a random strict
    /// prefix of its buffer (possibly empty) and fails with EIO. Consumed when it fires.
    FailWrite {
        /// Writes that succeed before the failing one.
        after: u64,
    },
    /// Every `read_exact_at` and `map` on a handle whose path (as opened, e.g. `/db/wal-1`)
    /// contains this string fails with EIO. Lasts until cleared.
    FailRead {
        /// Substring of the path to match.
        path_contains: String,
    },
    /// The next `after` sync calls succeed; the one after fails with EIO and halts the file
    /// system: every later operation fails until [`SimVfs::crash`]. Consumed when it fires.
    CrashAtSync {
        /// Syncs that succeed before the halting one.
        after: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Mutation {
    Write { offset: usize, data: Vec<u8> },
    SetLen(usize),
}

#[derive(Default)]
struct FileNode {
    volatile: Vec<u8>,
    durable: Vec<u8>,
    pending: Vec<Mutation>,
    /// Live handles (of the current epoch) open on this node.
    handles: u64,
}

#[derive(Default)]
struct DirNode {
    volatile: BTreeMap<String, u64>,
    durable: BTreeMap<String, u64>,
}

enum Node {
    File(FileNode),
    Dir(DirNode),
}

#[derive(Default)]
struct Faults {
    fail_sync: Vec<u64>,
    crash_at_sync: Vec<u64>,
    fail_write: Vec<u64>,
    fail_read: Vec<String>,
    /// Total volatile bytes allowed, set by [`Fault::NoSpace`].
    capacity: Option<u64>,
}

/// Counts every countdown down by one call; returns whether one fired (and removes it).
fn tick(countdowns: &mut Vec<u64>) -> bool {
    let mut fired = false;
    countdowns.retain_mut(|c| {
        if *c == 0 {
            fired = true;
            false
        } else {
            *c -= 1;
            true
        }
    });
    fired
}

struct State {
    nodes: BTreeMap<u64, Node>,
    next_id: u64,
    /// Bumped by every crash; handles of older epochs are stale.
    epoch: u64,
    /// Set by [`Fault::CrashAtSync`]; cleared by a crash.
    halted: bool,
    rng: SplitMix,
    faults: Faults,
    locks: BTreeMap<Vec<String>, u64>,
    next_lock: u64,
    syncs: u64,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("nodes", &self.nodes.len())
            .field("epoch", &self.epoch)
            .field("halted", &self.halted)
            .field("syncs", &self.syncs)
            .field("locks", &self.locks.len())
            .finish()
    }
}

fn error(kind: ErrorKind, msg: impl Into<String>) -> io::Error {
    io::Error::new(kind, msg.into())
}
fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}
fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}
fn stale() -> io::Error {
    io::Error::other("stale handle: file system crashed")
}

/// A byte length or offset as `usize`, refusing anything over [`MAX_FILE_LEN`].
fn to_len(n: u64) -> io::Result<usize> {
    if n > MAX_FILE_LEN {
        return Err(error(
            ErrorKind::FileTooLarge,
            "beyond the simulated 4 GiB file limit",
        ));
    }
    usize::try_from(n).map_err(|_| error(ErrorKind::FileTooLarge, "beyond usize"))
}

fn write_into(image: &mut Vec<u8>, offset: usize, data: &[u8]) {
    let end = offset + data.len();
    if image.len() < end {
        image.resize(end, 0);
    }
    image[offset..end].copy_from_slice(data);
}

fn components(path: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => out.push(
                name.to_str()
                    .ok_or_else(|| error(ErrorKind::InvalidInput, "non-UTF-8 path"))?
                    .to_owned(),
            ),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(error(ErrorKind::InvalidInput, "`..` is not supported"))
            }
        }
    }
    Ok(out)
}

fn display(comps: &[String]) -> String {
    format!("/{}", comps.join("/"))
}

impl State {
    fn check_live(&self) -> io::Result<()> {
        if self.halted {
            return Err(io::Error::other(
                "file system halted by Fault::CrashAtSync; call SimVfs::crash",
            ));
        }
        Ok(())
    }
    fn dir(&self, id: u64) -> io::Result<&DirNode> {
        match self.nodes.get(&id) {
            Some(Node::Dir(d)) => Ok(d),
            Some(Node::File(_)) => Err(error(ErrorKind::NotADirectory, "not a directory")),
            None => Err(error(ErrorKind::NotFound, "dangling node")),
        }
    }
    fn dir_mut(&mut self, id: u64) -> io::Result<&mut DirNode> {
        match self.nodes.get_mut(&id) {
            Some(Node::Dir(d)) => Ok(d),
            Some(Node::File(_)) => Err(error(ErrorKind::NotADirectory, "not a directory")),
            None => Err(error(ErrorKind::NotFound, "dangling node")),
        }
    }
    fn file(&self, id: u64) -> io::Result<&FileNode> {
        match self.nodes.get(&id) {
            Some(Node::File(f)) => Ok(f),
            Some(Node::Dir(_)) => Err(error(ErrorKind::IsADirectory, "is a directory")),
            None => Err(error(ErrorKind::NotFound, "dangling node")),
        }
    }
    fn file_mut(&mut self, id: u64) -> io::Result<&mut FileNode> {
        match self.nodes.get_mut(&id) {
            Some(Node::File(f)) => Ok(f),
            Some(Node::Dir(_)) => Err(error(ErrorKind::IsADirectory, "is a directory")),
            None => Err(error(ErrorKind::NotFound, "dangling node")),
        }
    }
    fn is_file(&self, id: u64) -> bool {
        matches!(self.nodes.get(&id), Some(Node::File(_)))
    }
    fn alloc(&mut self, node: Node) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(id, node);
        id
    }

    /// The node at `comps` in the volatile (or durable) namespace.
    fn resolve(&self, comps: &[String], durable: bool) -> io::Result<u64> {
        let mut cur = ROOT;
        for name in comps {
            let dir = self.dir(cur)?;
            let entries = if durable { &dir.durable } else { &dir.volatile };
            cur = *entries.get(name).ok_or_else(|| {
                error(ErrorKind::NotFound, format!("{} not found", display(comps)))
            })?;
        }
        Ok(cur)
    }
    /// The (volatile) parent directory of `comps` and the last name.
    fn parent<'a>(&self, comps: &'a [String]) -> io::Result<(u64, &'a str)> {
        let (name, parent) = comps
            .split_last()
            .ok_or_else(|| error(ErrorKind::InvalidInput, "the root has no parent"))?;
        let id = self.resolve(parent, false)?;
        self.dir(id)?;
        Ok((id, name))
    }

    /// Nodes reachable from `roots` through volatile and/or durable entries.
    fn reachable(&self, roots: Vec<u64>, volatile: bool, durable: bool) -> BTreeSet<u64> {
        let mut seen = BTreeSet::new();
        let mut stack = roots;
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(Node::Dir(d)) = self.nodes.get(&id) {
                if volatile {
                    stack.extend(d.volatile.values());
                }
                if durable {
                    stack.extend(d.durable.values());
                }
            }
        }
        seen
    }
    /// Volatile bytes of every live file (linked in the volatile namespace or held open).
    fn used(&self) -> u64 {
        let linked = self.reachable(vec![ROOT], true, false);
        self.nodes
            .iter()
            .map(|(id, n)| match n {
                Node::File(f) if f.handles > 0 || linked.contains(id) => f.volatile.len() as u64,
                _ => 0,
            })
            .sum()
    }
    /// Bytes that may still be added under [`Fault::NoSpace`]; `None` if unlimited.
    fn available(&self) -> Option<u64> {
        self.faults
            .capacity
            .map(|cap| cap.saturating_sub(self.used()))
    }
    /// Frees nodes that no namespace (volatile or durable) and no open handle reaches.
    fn gc(&mut self) {
        let mut roots: Vec<u64> = self
            .nodes
            .iter()
            .filter(|(_, n)| matches!(n, Node::File(f) if f.handles > 0))
            .map(|(id, _)| *id)
            .collect();
        roots.push(ROOT);
        let keep = self.reachable(roots, true, true);
        self.nodes.retain(|id, _| keep.contains(id));
    }
    /// Counts one sync call against the sync faults.
    fn sync_fault(&mut self) -> io::Result<()> {
        let crash = tick(&mut self.faults.crash_at_sync);
        let fail = tick(&mut self.faults.fail_sync);
        if crash {
            self.halted = true;
        }
        if crash || fail {
            return Err(eio());
        }
        Ok(())
    }
    fn check_read(&self, path: &str) -> io::Result<()> {
        let hit = self.faults.fail_read.iter().any(|s| path.contains(s));
        if hit {
            return Err(eio());
        }
        Ok(())
    }
    /// Opens (creating or truncating per `mode`) the file at `comps`; returns its node.
    fn open_node(&mut self, comps: &[String], mode: OpenMode) -> io::Result<u64> {
        let (dir, name) = self.parent(comps)?;
        match self.dir(dir)?.volatile.get(name).copied() {
            Some(id) => {
                let file = self.file_mut(id)?;
                match mode {
                    OpenMode::CreateNew => {
                        return Err(error(ErrorKind::AlreadyExists, display(comps)));
                    }
                    OpenMode::CreateTruncate => {
                        file.volatile.clear();
                        file.pending.push(Mutation::SetLen(0));
                    }
                    OpenMode::Read | OpenMode::ReadWrite | OpenMode::OpenOrCreate => {}
                }
                Ok(id)
            }
            None if mode.creates() => {
                let id = self.alloc(Node::File(FileNode::default()));
                self.dir_mut(dir)?.volatile.insert(name.to_owned(), id);
                Ok(id)
            }
            None => Err(error(
                ErrorKind::NotFound,
                format!("{} not found", display(comps)),
            )),
        }
    }
    /// Every file reachable through volatile entries, with its path.
    fn volatile_files(&self, id: u64, prefix: &mut PathBuf, depth: usize, out: &mut Vec<PathBuf>) {
        let Some(Node::Dir(d)) = self.nodes.get(&id) else {
            return;
        };
        if depth > 256 {
            return; // a cycle (impossible unless crashes duplicated directories)
        }
        for (name, child) in &d.volatile {
            prefix.push(name);
            if self.is_file(*child) {
                out.push(prefix.clone());
            } else {
                self.volatile_files(*child, prefix, depth + 1, out);
            }
            prefix.pop();
        }
    }
}

/// A file's image after a torn power loss: its durable image plus a random in-order prefix of
/// its pending mutations, the last write possibly cut short.
fn torn_image(file: &FileNode, rng: &mut SplitMix) -> Vec<u8> {
    let mut image = file.durable.clone();
    let applied = rng.below(file.pending.len() as u64 + 1) as usize;
    for (i, m) in file.pending.iter().take(applied).enumerate() {
        match m {
            Mutation::SetLen(len) => image.resize(*len, 0),
            Mutation::Write { offset, data } => {
                let keep = if i + 1 == applied && rng.next_u64() & 1 == 1 {
                    rng.below(data.len() as u64 + 1) as usize
                } else {
                    data.len()
                };
                if keep > 0 {
                    write_into(&mut image, *offset, &data[..keep]);
                }
            }
        }
    }
    image
}

/// An in-memory, deterministic, fault-injecting [`Vfs`]. Clones share one file system.
#[derive(Clone, Debug)]
pub struct SimVfs {
    state: Arc<Mutex<State>>,
}

impl SimVfs {
    /// An empty file system (only the root directory) whose random choices follow `seed`.
    pub fn new(seed: u64) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT, Node::Dir(DirNode::default()));
        Self {
            state: Arc::new(Mutex::new(State {
                nodes,
                next_id: ROOT + 1,
                epoch: 0,
                halted: false,
                rng: SplitMix::new(seed),
                faults: Faults::default(),
                locks: BTreeMap::new(),
                next_lock: 0,
                syncs: 0,
            })),
        }
    }

    fn op<R>(&self, f: impl FnOnce(&mut State) -> io::Result<R>) -> io::Result<R> {
        let mut st = self.state.lock();
        st.check_live()?;
        f(&mut st)
    }

    /// Ends the simulated process (see [`CrashMode`]): every earlier handle and lock guard dies,
    /// locks are released and a [`Fault::CrashAtSync`] halt is lifted. Faults stay injected.
    pub fn crash(&self, mode: CrashMode) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        st.epoch += 1;
        st.halted = false;
        st.locks.clear();
        for node in st.nodes.values_mut() {
            if let Node::File(f) = node {
                f.handles = 0;
            }
        }
        if mode != CrashMode::ProcessKill {
            // Depth-first in name order, so the PRNG is consumed deterministically.
            let mut order = Vec::new();
            let mut seen = BTreeSet::new();
            let mut stack = vec![ROOT];
            while let Some(id) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                order.push(id);
                if let Some(Node::Dir(d)) = st.nodes.get(&id) {
                    stack.extend(d.durable.values().rev());
                }
            }
            for id in order {
                match st.nodes.get_mut(&id) {
                    Some(Node::Dir(d)) => d.volatile = d.durable.clone(),
                    Some(Node::File(f)) => {
                        if mode == CrashMode::PowerLossTorn {
                            f.durable = torn_image(f, &mut st.rng);
                        }
                        f.volatile = f.durable.clone();
                        f.pending.clear();
                    }
                    None => {}
                }
            }
        }
        st.gc();
    }

    /// Injects a fault (see [`Fault`]).
    pub fn inject(&self, fault: Fault) {
        let mut st = self.state.lock();
        match fault {
            Fault::FailSync { after } => st.faults.fail_sync.push(after),
            Fault::CrashAtSync { after } => st.faults.crash_at_sync.push(after),
            Fault::FailWrite { after } => st.faults.fail_write.push(after),
            Fault::FailRead { path_contains } => st.faults.fail_read.push(path_contains),
            Fault::NoSpace { free_bytes } => {
                st.faults.capacity = Some(st.used().saturating_add(free_bytes));
            }
        }
    }

    /// Removes every injected fault (a halt from [`Fault::CrashAtSync`] still needs a crash).
    pub fn clear_faults(&self) {
        self.state.lock().faults = Faults::default();
    }

    /// Successful sync calls (file and directory) so far.
    pub fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Whether a [`Fault::CrashAtSync`] fired and the file system waits for [`SimVfs::crash`].
    pub fn is_halted(&self) -> bool {
        self.state.lock().halted
    }

    fn contents(&self, path: &Path, durable: bool) -> Option<Vec<u8>> {
        let st = self.state.lock();
        let id = st.resolve(&components(path).ok()?, durable).ok()?;
        let file = st.file(id).ok()?;
        let image = if durable {
            &file.durable
        } else {
            &file.volatile
        };
        Some(image.clone())
    }

    /// The durable image of the file that the durable namespace names `path` (what a power
    /// loss right now would leave there, without torn writes); `None` if there is none.
    pub fn durable_contents(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        self.contents(path.as_ref(), true)
    }

    /// The volatile image of the file at `path` (what the process reads); `None` if there is
    /// none.
    pub fn volatile_contents(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        self.contents(path.as_ref(), false)
    }

    /// The file at `path` (volatile namespace, else durable), ignoring faults and halts.
    fn backdoor<R>(
        &self,
        path: &Path,
        f: impl FnOnce(&mut FileNode) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut st = self.state.lock();
        let comps = components(path)?;
        let id = st
            .resolve(&comps, false)
            .or_else(|_| st.resolve(&comps, true))?;
        f(st.file_mut(id)?)
    }

    /// Models media corruption: XORs the byte at `offset` with `xor_mask` in both the volatile
    /// and the durable image (in each that is long enough). `UnexpectedEof` if neither is.
    pub fn corrupt(&self, path: impl AsRef<Path>, offset: u64, xor_mask: u8) -> io::Result<()> {
        let offset = to_len(offset)?;
        self.backdoor(path.as_ref(), |file| {
            let mut hit = false;
            for image in [&mut file.volatile, &mut file.durable] {
                if let Some(b) = image.get_mut(offset) {
                    *b ^= xor_mask;
                    hit = true;
                }
            }
            if hit {
                Ok(())
            } else {
                Err(error(ErrorKind::UnexpectedEof, "offset beyond the file"))
            }
        })
    }

    /// Sets the length of both images of the file at `path` (zero-extending), as if the media
    /// lost or grew its tail.
    pub fn truncate_file(&self, path: impl AsRef<Path>, len: u64) -> io::Result<()> {
        let len = to_len(len)?;
        self.backdoor(path.as_ref(), |file| {
            file.volatile.resize(len, 0);
            file.durable.resize(len, 0);
            Ok(())
        })
    }

    /// Volatile size of all live files (linked or held open), the quantity
    /// [`Fault::NoSpace`] limits.
    pub fn total_bytes(&self) -> u64 {
        self.state.lock().used()
    }

    /// Every file in the volatile namespace, as absolute paths in name order.
    pub fn list_all(&self) -> Vec<PathBuf> {
        let st = self.state.lock();
        let mut out = Vec::new();
        st.volatile_files(ROOT, &mut PathBuf::from("/"), 0, &mut out);
        out
    }
}

/// A handle on a [`SimVfs`] file.
#[derive(Debug)]
struct SimFile {
    state: Arc<Mutex<State>>,
    node: u64,
    epoch: u64,
    writable: bool,
    /// The path it was opened with, for [`Fault::FailRead`].
    path: String,
}

impl SimFile {
    fn with<R>(&self, f: impl FnOnce(&mut State, u64) -> io::Result<R>) -> io::Result<R> {
        let mut st = self.state.lock();
        st.check_live()?;
        if st.epoch != self.epoch {
            return Err(stale());
        }
        f(&mut st, self.node)
    }
    fn check_writable(&self) -> io::Result<()> {
        let msg = "handle opened read-only";
        self.writable
            .then_some(())
            .ok_or_else(|| error(ErrorKind::PermissionDenied, msg))
    }
    fn sync(&self) -> io::Result<()> {
        self.with(|st, id| {
            st.file(id)?;
            st.sync_fault()?;
            let file = st.file_mut(id)?;
            file.durable = file.volatile.clone();
            file.pending.clear();
            st.syncs += 1;
            Ok(())
        })
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut st = self.state.lock();
        if st.epoch == self.epoch {
            if let Some(Node::File(f)) = st.nodes.get_mut(&self.node) {
                f.handles = f.handles.saturating_sub(1);
            }
        }
    }
}

impl VfsFile for SimFile {
    fn len(&self) -> io::Result<u64> {
        self.with(|st, id| Ok(st.file(id)?.volatile.len() as u64))
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.with(|st, id| {
            st.check_read(&self.path)?;
            let image = &st.file(id)?.volatile;
            let start = usize::try_from(offset).ok();
            let end = start
                .and_then(|s| s.checked_add(buf.len()))
                .filter(|&end| end <= image.len())
                .ok_or_else(|| error(ErrorKind::UnexpectedEof, "read past the end of the file"))?;
            buf.copy_from_slice(&image[end - buf.len()..end]);
            Ok(())
        })
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.with(|st, id| {
            self.check_writable()?;
            let cur = st.file(id)?.volatile.len() as u64;
            let offset_len = to_len(offset)?;
            to_len(offset.saturating_add(buf.len() as u64))?;
            let mut buf = buf;
            let mut failure = None;
            if tick(&mut st.faults.fail_write) {
                buf = &buf[..st.rng.below(buf.len() as u64) as usize];
                failure = Some(eio());
            }
            if let Some(avail) = st.available() {
                let end = offset + buf.len() as u64;
                if end.saturating_sub(cur) > avail {
                    let fits = (cur + avail).saturating_sub(offset).min(buf.len() as u64);
                    buf = &buf[..to_len(fits)?];
                    failure = Some(enospc());
                }
            }
            if !buf.is_empty() {
                let file = st.file_mut(id)?;
                write_into(&mut file.volatile, offset_len, buf);
                file.pending.push(Mutation::Write {
                    offset: offset_len,
                    data: buf.to_vec(),
                });
            }
            failure.map_or(Ok(()), Err)
        })
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.with(|st, id| {
            self.check_writable()?;
            let new = to_len(len)?;
            let cur = st.file(id)?.volatile.len() as u64;
            if st
                .available()
                .is_some_and(|avail| len.saturating_sub(cur) > avail)
            {
                return Err(enospc());
            }
            let file = st.file_mut(id)?;
            file.volatile.resize(new, 0);
            file.pending.push(Mutation::SetLen(new));
            Ok(())
        })
    }
    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
    fn map(&self, len: u64) -> io::Result<Mapping> {
        self.with(|st, id| {
            st.check_read(&self.path)?;
            let image = &st.file(id)?.volatile;
            match usize::try_from(len).ok().and_then(|n| image.get(..n)) {
                Some(bytes) => Ok(Mapping::copy_from(bytes)),
                None => Err(error(
                    ErrorKind::UnexpectedEof,
                    format!("cannot map {len} bytes of a {}-byte file", image.len()),
                )),
            }
        })
    }
}

/// A lock from [`SimVfs`]'s in-memory lock table.
#[derive(Debug)]
struct SimLock {
    state: Arc<Mutex<State>>,
    key: Vec<String>,
    id: u64,
}

impl LockGuard for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut st = self.state.lock();
        // Lock ids are never reused, so a guard from before a crash cannot free a newer lock.
        if st.locks.get(&self.key) == Some(&self.id) {
            st.locks.remove(&self.key);
        }
    }
}

impl Vfs for SimVfs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.op(|st| {
            let mut cur = ROOT;
            for name in components(path)? {
                cur = match st.dir(cur)?.volatile.get(&name).copied() {
                    Some(id) if st.is_file(id) => {
                        return Err(error(ErrorKind::AlreadyExists, format!("{name} is a file")))
                    }
                    Some(id) => id,
                    None => {
                        let id = st.alloc(Node::Dir(DirNode::default()));
                        st.dir_mut(cur)?.volatile.insert(name, id);
                        id
                    }
                };
            }
            Ok(())
        })
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.op(|st| {
            let id = st.resolve(&components(path)?, false)?;
            Ok(st
                .dir(id)?
                .volatile
                .iter()
                .map(|(name, child)| DirEntry {
                    name: name.clone(),
                    is_dir: !st.is_file(*child),
                })
                .collect())
        })
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.op(|st| Ok(st.resolve(&components(path)?, false).is_ok()))
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        self.op(|st| {
            let id = st.resolve(&components(path)?, false);
            Ok(id.is_ok_and(|id| !st.is_file(id)))
        })
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        self.op(|st| {
            let comps = components(path)?;
            let id = st.open_node(&comps, mode)?;
            st.file_mut(id)?.handles += 1;
            Ok(Box::new(SimFile {
                state: Arc::clone(&self.state),
                node: id,
                epoch: st.epoch,
                writable: mode.writable(),
                path: display(&comps),
            }) as Box<dyn VfsFile>)
        })
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.op(|st| {
            let (from, to) = (components(from)?, components(to)?);
            let (from_dir, from_name) = st.parent(&from)?;
            let src = *st.dir(from_dir)?.volatile.get(from_name).ok_or_else(|| {
                error(ErrorKind::NotFound, format!("{} not found", display(&from)))
            })?;
            let (to_dir, to_name) = st.parent(&to)?;
            let existing = st.dir(to_dir)?.volatile.get(to_name).copied();
            if existing == Some(src) {
                return Ok(()); // same file: POSIX rename does nothing
            }
            if st.is_file(src) {
                if existing.is_some_and(|e| !st.is_file(e)) {
                    return Err(error(ErrorKind::IsADirectory, display(&to)));
                }
            } else if existing.is_some() {
                return Err(error(ErrorKind::AlreadyExists, display(&to)));
            } else if st.reachable(vec![src], true, false).contains(&to_dir) {
                return Err(error(
                    ErrorKind::InvalidInput,
                    "cannot move a directory into itself",
                ));
            }
            st.dir_mut(from_dir)?.volatile.remove(from_name);
            st.dir_mut(to_dir)?.volatile.insert(to_name.to_owned(), src);
            st.gc();
            Ok(())
        })
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.op(|st| {
            let comps = components(path)?;
            let (dir, name) = st.parent(&comps)?;
            let id = st.resolve(&comps, false)?;
            st.file(id)?;
            st.dir_mut(dir)?.volatile.remove(name);
            st.gc();
            Ok(())
        })
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.op(|st| {
            let comps = components(path)?;
            if comps.is_empty() {
                return Err(error(ErrorKind::PermissionDenied, "cannot remove the root"));
            }
            let (dir, name) = st.parent(&comps)?;
            let id = st.resolve(&comps, false)?;
            st.dir(id)?;
            // The subtree leaves the volatile namespace; its durable entries stay until the
            // parent is synced.
            st.dir_mut(dir)?.volatile.remove(name);
            st.gc();
            Ok(())
        })
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.op(|st| {
            let id = st.resolve(&components(path)?, false)?;
            st.dir(id)?;
            st.sync_fault()?;
            let dir = st.dir_mut(id)?;
            dir.durable = dir.volatile.clone();
            st.syncs += 1;
            st.gc();
            Ok(())
        })
    }
    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn LockGuard>>> {
        self.op(|st| {
            let comps = components(path)?;
            st.open_node(&comps, OpenMode::OpenOrCreate)?;
            if st.locks.contains_key(&comps) {
                return Ok(None);
            }
            let id = st.next_lock;
            st.next_lock += 1;
            st.locks.insert(comps.clone(), id);
            Ok(Some(Box::new(SimLock {
                state: Arc::clone(&self.state),
                key: comps,
                id,
            }) as Box<dyn LockGuard>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_atomic;

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    /// A file `path` with `bytes`, fully durable (contents and every directory entry).
    fn durable_file(sim: &SimVfs, path: &str, bytes: &[u8]) {
        sim.create_dir_all(p(path).parent().unwrap()).unwrap();
        let f = sim.open(p(path), OpenMode::CreateTruncate).unwrap();
        f.write_all_at(bytes, 0).unwrap();
        f.sync_all().unwrap();
        for dir in p(path).ancestors().skip(1) {
            sim.sync_dir(dir).unwrap();
        }
    }

    fn kind<T: fmt::Debug>(r: io::Result<T>) -> ErrorKind {
        r.unwrap_err().kind()
    }

    /// The raw OS error of a failed call (5 = EIO, 28 = ENOSPC).
    fn code<T: fmt::Debug>(r: io::Result<T>) -> Option<i32> {
        r.unwrap_err().raw_os_error()
    }

    #[test]
    fn file_round_trip_and_open_modes() {
        let sim = SimVfs::new(1);
        sim.create_dir_all(p("/db/seg")).unwrap();
        sim.create_dir_all(p("db/seg")).unwrap();
        assert!(sim.is_dir(p("/db")).unwrap() && sim.is_dir(p("/")).unwrap());
        let f = sim.open(p("/db/a"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"hello", 0).unwrap();
        f.write_all_at(b"world", 8).unwrap();
        assert_eq!(f.len().unwrap(), 13);
        assert_eq!(f.read_all().unwrap(), b"hello\0\0\0world");
        let mut buf = [0u8; 4];
        f.read_exact_at(&mut buf, 9).unwrap();
        assert_eq!(&buf, b"orld");
        assert_eq!(
            kind(f.read_exact_at(&mut buf, 10)),
            ErrorKind::UnexpectedEof
        );
        assert_eq!(&f.map(5).unwrap()[..], b"hello");
        assert_eq!(kind(f.map(14)), ErrorKind::UnexpectedEof);
        f.set_len(2).unwrap();
        assert_eq!(f.read_all().unwrap(), b"he");
        let open = |path, mode| kind(sim.open(p(path), mode));
        assert_eq!(open("/db/a", OpenMode::CreateNew), ErrorKind::AlreadyExists);
        assert_eq!(open("/db/zz", OpenMode::Read), ErrorKind::NotFound);
        assert_eq!(
            open("/db/seg", OpenMode::ReadWrite),
            ErrorKind::IsADirectory
        );
        assert_eq!(open("/nodir/x", OpenMode::CreateNew), ErrorKind::NotFound);
        assert_eq!(open("/db/../x", OpenMode::Read), ErrorKind::InvalidInput);
        let r = sim.open(p("db/a"), OpenMode::Read).unwrap();
        assert_eq!(kind(r.write_all_at(b"x", 0)), ErrorKind::PermissionDenied);
        assert_eq!(kind(r.set_len(0)), ErrorKind::PermissionDenied);
        let t = sim.open(p("/db/a"), OpenMode::CreateTruncate).unwrap();
        assert!(t.is_empty().unwrap() && r.is_empty().unwrap());
        let entry = |name: &str, is_dir| DirEntry {
            name: name.into(),
            is_dir,
        };
        let listed = sim.list_dir(p("/db")).unwrap();
        assert_eq!(listed, vec![entry("a", false), entry("seg", true)]);
        assert_eq!(sim.list_all(), vec![PathBuf::from("/db/a")]);
        // Unlinked files stay readable through open handles.
        t.write_all_at(b"kept", 0).unwrap();
        sim.remove_file(p("/db/a")).unwrap();
        assert!(!sim.exists(p("/db/a")).unwrap());
        assert_eq!(t.read_all().unwrap(), b"kept");
        assert_eq!(sim.total_bytes(), 4);
        drop((f, r, t));
        assert_eq!(sim.total_bytes(), 0);
        sim.remove_dir_all(p("/db")).unwrap();
        assert!(!sim.exists(p("/db/seg")).unwrap());
        assert!(sim.list_dir(p("/")).unwrap().is_empty());
    }

    #[test]
    fn sync_makes_data_survive_power_loss_and_unsynced_data_is_lost() {
        let sim = SimVfs::new(2);
        durable_file(&sim, "/d/f", b"");
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        f.write_all_at(b"synced", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b"-lost", 6).unwrap();
        f.set_len(3).unwrap();
        assert_eq!(sim.durable_contents("/d/f").unwrap(), b"synced");
        sim.crash(CrashMode::ProcessKill);
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"syn");
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"synced");
        let f = sim.open(p("/d/f"), OpenMode::Read).unwrap();
        assert_eq!(f.read_all().unwrap(), b"synced");
    }

    #[test]
    fn new_file_needs_its_directory_synced_to_survive_power_loss() {
        let sim = SimVfs::new(3);
        sim.create_dir_all(p("/d")).unwrap();
        sim.sync_dir(p("/")).unwrap();
        let f = sim.open(p("/d/new"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"data", 0).unwrap();
        f.sync_all().unwrap();
        assert_eq!(sim.durable_contents("/d/new"), None);
        sim.crash(CrashMode::ProcessKill);
        assert_eq!(sim.volatile_contents("/d/new").unwrap(), b"data");
        sim.crash(CrashMode::PowerLoss);
        assert!(!sim.exists(p("/d/new")).unwrap());
        assert!(sim.is_dir(p("/d")).unwrap());
        // A synced directory whose own entry was never synced vanishes with its contents.
        sim.create_dir_all(p("/x/y")).unwrap();
        let f = sim.open(p("/x/y/f"), OpenMode::CreateNew).unwrap();
        f.sync_all().unwrap();
        sim.sync_dir(p("/x/y")).unwrap();
        sim.sync_dir(p("/x")).unwrap();
        assert_eq!(sim.durable_contents("/x/y/f"), None, "/x is not durable");
        sim.crash(CrashMode::PowerLoss);
        assert!(!sim.exists(p("/x")).unwrap());
        assert_eq!(sim.list_dir(p("/")).unwrap().len(), 1);
        // Once every ancestor is synced, it all survives.
        durable_file(&sim, "/x/y/f", b"1");
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/x/y/f").unwrap(), b"1");
    }

    #[test]
    fn rename_and_unlink_are_durable_only_after_sync_dir() {
        let sim = SimVfs::new(4);
        durable_file(&sim, "/d/a", b"A");
        sim.sync_dir(p("/")).unwrap();
        sim.rename(p("/d/a"), p("/d/b")).unwrap();
        assert!(!sim.exists(p("/d/a")).unwrap() && sim.exists(p("/d/b")).unwrap());
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/a").unwrap(), b"A");
        assert_eq!(sim.volatile_contents("/d/b"), None);
        sim.rename(p("/d/a"), p("/d/b")).unwrap();
        sim.sync_dir(p("/d")).unwrap();
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/a"), None);
        assert_eq!(sim.volatile_contents("/d/b").unwrap(), b"A");
        sim.remove_file(p("/d/b")).unwrap();
        sim.crash(CrashMode::PowerLoss);
        assert!(sim.exists(p("/d/b")).unwrap());
        sim.remove_file(p("/d/b")).unwrap();
        sim.sync_dir(p("/d")).unwrap();
        sim.crash(CrashMode::PowerLoss);
        assert!(!sim.exists(p("/d/b")).unwrap());
        // A removed directory comes back until its parent is synced.
        durable_file(&sim, "/d/e/f", b"F");
        sim.sync_dir(p("/d")).unwrap();
        sim.remove_dir_all(p("/d/e")).unwrap();
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/e/f").unwrap(), b"F");
    }

    #[test]
    fn rename_over_existing_file_keeps_old_contents_until_dir_synced() {
        for sync in [false, true] {
            let sim = SimVfs::new(5);
            durable_file(&sim, "/d/f", b"old");
            sim.sync_dir(p("/")).unwrap();
            let t = sim.open(p("/d/f.tmp"), OpenMode::CreateNew).unwrap();
            t.write_all_at(b"new!", 0).unwrap();
            t.sync_all().unwrap();
            sim.rename(p("/d/f.tmp"), p("/d/f")).unwrap();
            assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"new!");
            if sync {
                sim.sync_dir(p("/d")).unwrap();
            }
            sim.crash(CrashMode::PowerLoss);
            let want: &[u8] = if sync { b"new!" } else { b"old" };
            assert_eq!(sim.volatile_contents("/d/f").unwrap(), want);
            assert!(!sim.exists(p("/d/f.tmp")).unwrap());
            assert_eq!(sim.total_bytes(), want.len() as u64);
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        W(u64, Vec<u8>),
        L(u64),
    }

    fn pending_ops() -> Vec<Op> {
        vec![
            Op::W(8, vec![1; 5]),
            Op::W(2, vec![2; 4]),
            Op::L(11),
            Op::W(20, vec![3; 6]),
            Op::W(0, vec![4; 3]),
        ]
    }

    /// Durable base plus `pending_ops()` on `/d/f`, then a torn power loss; returns the result.
    fn torn_run(seed: u64) -> Vec<u8> {
        let sim = SimVfs::new(seed);
        durable_file(&sim, "/d/f", b"junk-junk-junk-junk");
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        // Mutations made durable by a sync must never be replayed by a torn crash.
        f.set_len(0).unwrap();
        f.write_all_at(b"base-image", 0).unwrap();
        f.sync_data().unwrap();
        for op in pending_ops() {
            match op {
                Op::W(off, data) => f.write_all_at(&data, off).unwrap(),
                Op::L(len) => f.set_len(len).unwrap(),
            }
        }
        sim.crash(CrashMode::PowerLossTorn);
        let got = sim.volatile_contents("/d/f").unwrap();
        assert_eq!(
            sim.durable_contents("/d/f").unwrap(),
            got,
            "the new durable image"
        );
        got
    }

    #[test]
    fn torn_power_loss_yields_durable_image_plus_in_order_prefix_of_pending_writes() {
        let ops = pending_ops();
        // Every legal outcome: the first `k` ops applied, the k-th write cut to `keep` bytes.
        let mut legal: Vec<(usize, usize, Vec<u8>)> = Vec::new();
        for k in 0..=ops.len() {
            let keeps = match ops.get(k.wrapping_sub(1)) {
                Some(Op::W(_, d)) => (0..=d.len()).collect(),
                _ => vec![0],
            };
            for keep in keeps {
                let mut img = b"base-image".to_vec();
                for (i, op) in ops.iter().take(k).enumerate() {
                    match op {
                        Op::L(len) => img.resize(*len as usize, 0),
                        Op::W(off, d) => {
                            let d = &d[..if i + 1 == k { keep } else { d.len() }];
                            let off = *off as usize;
                            if !d.is_empty() {
                                img.resize(img.len().max(off + d.len()), 0);
                                img[off..off + d.len()].copy_from_slice(d);
                            }
                        }
                    }
                }
                legal.push((k, keep, img));
            }
        }
        let mut outcomes = BTreeSet::new();
        for seed in 0..400 {
            let got = torn_run(seed);
            let found = legal.iter().find(|(_, _, img)| *img == got);
            let (k, keep, _) =
                found.unwrap_or_else(|| panic!("seed {seed}: illegal torn image {got:?}"));
            outcomes.insert((*k, *keep));
        }
        // The simulation must really explore: nothing applied, everything applied, torn writes.
        assert!(outcomes.contains(&(0, 0)));
        assert!(outcomes.contains(&(ops.len(), 3)));
        let torn = outcomes
            .iter()
            .any(|&(k, keep)| k == 4 && keep > 0 && keep < 6);
        assert!(torn, "{outcomes:?}");
        assert!(outcomes.len() >= 10, "{outcomes:?}");
    }

    #[test]
    fn same_seed_gives_same_torn_result_and_seeds_differ() {
        for seed in [0, 7, 99] {
            assert_eq!(torn_run(seed), torn_run(seed));
        }
        let distinct: BTreeSet<_> = (0..32).map(torn_run).collect();
        assert!(distinct.len() >= 4);
    }

    #[test]
    fn fail_sync_fails_exactly_the_next_plus_after_sync_and_data_stays_volatile() {
        let sim = SimVfs::new(6);
        durable_file(&sim, "/d/f", b"");
        let base = sim.sync_count();
        sim.inject(Fault::FailSync { after: 2 });
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        f.write_all_at(b"a", 0).unwrap();
        f.sync_data().unwrap();
        sim.sync_dir(p("/d")).unwrap(); // directory syncs count too
        f.write_all_at(b"b", 1).unwrap();
        assert_eq!(code(f.sync_all()), Some(5));
        assert_eq!(sim.sync_count(), base + 2);
        assert_eq!(sim.durable_contents("/d/f").unwrap(), b"a");
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"a");
        // Consumed: later syncs succeed.
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        f.write_all_at(b"c", 1).unwrap();
        f.sync_all().unwrap();
        assert_eq!(sim.durable_contents("/d/f").unwrap(), b"ac");
        // A failed directory sync leaves the entry volatile.
        sim.inject(Fault::FailSync { after: 0 });
        sim.open(p("/d/g"), OpenMode::CreateNew).unwrap();
        assert_eq!(code(sim.sync_dir(p("/d"))), Some(5));
        sim.crash(CrashMode::PowerLoss);
        assert!(!sim.exists(p("/d/g")).unwrap());
    }

    #[test]
    fn no_space_writes_the_prefix_that_fits_and_freeing_space_allows_writes() {
        let sim = SimVfs::new(7);
        durable_file(&sim, "/d/other", b"0123456789");
        sim.inject(Fault::NoSpace { free_bytes: 10 });
        let f = sim.open(p("/d/f"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"abcd", 0).unwrap();
        f.write_all_at(b"AB", 0).unwrap(); // overwriting needs no space
        assert_eq!(code(f.write_all_at(b"efghijklmn", 4)), Some(28));
        assert_eq!(f.read_all().unwrap(), b"ABcdefghij");
        assert_eq!(sim.total_bytes(), 20);
        assert_eq!(code(f.set_len(11)), Some(28));
        assert_eq!(f.len().unwrap(), 10);
        assert_eq!(code(f.write_all_at(b"z", 100)), Some(28));
        assert_eq!(
            f.len().unwrap(),
            10,
            "a failed write past the end must not extend"
        );
        f.set_len(6).unwrap();
        f.write_all_at(b"1234", 6).unwrap();
        assert!(f.write_all_at(b"!", 10).is_err());
        sim.remove_file(p("/d/other")).unwrap();
        f.write_all_at(b"0123456789", 10).unwrap();
        assert!(f.write_all_at(b"!", 20).is_err());
        sim.clear_faults();
        f.write_all_at(&[7; 1000], 20).unwrap();
        assert_eq!(sim.total_bytes(), 1020);
    }

    #[test]
    fn fail_write_writes_a_strict_prefix_then_is_consumed() {
        for seed in 0..20 {
            let sim = SimVfs::new(seed);
            sim.inject(Fault::FailWrite { after: 1 });
            let f = sim.open(p("/f"), OpenMode::CreateNew).unwrap();
            f.write_all_at(b"ok", 0).unwrap();
            assert_eq!(code(f.write_all_at(b"abcdef", 2)), Some(5));
            let got = f.read_all().unwrap();
            assert!(got.len() < 8 && b"okabcdef".starts_with(&got), "{got:?}");
            f.write_all_at(b"abcdef", 2).unwrap();
            assert_eq!(f.read_all().unwrap(), b"okabcdef");
        }
    }

    #[test]
    fn fail_read_hits_matching_paths_until_cleared() {
        let sim = SimVfs::new(8);
        durable_file(&sim, "/d/seg-1", b"segment");
        durable_file(&sim, "/d/wal", b"wal");
        let path_contains = "seg-".to_string();
        sim.inject(Fault::FailRead { path_contains });
        let s = sim.open(p("/d/seg-1"), OpenMode::Read).unwrap();
        assert_eq!(code(s.read_all()), Some(5));
        assert_eq!(code(s.map(3)), Some(5));
        let w = sim.open(p("/d/wal"), OpenMode::Read).unwrap();
        assert_eq!(w.read_all().unwrap(), b"wal");
        sim.clear_faults();
        assert_eq!(&s.map(7).unwrap()[..], b"segment");
    }

    #[test]
    fn handles_and_locks_die_with_a_crash() {
        let sim = SimVfs::new(9);
        durable_file(&sim, "/d/f", b"x");
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        let old_lock = sim.try_lock(p("/d/LOCK")).unwrap().unwrap();
        sim.crash(CrashMode::ProcessKill);
        assert!(f.len().is_err());
        assert!(f.read_all().is_err());
        assert!(f.write_all_at(b"y", 0).is_err());
        assert!(f.set_len(0).is_err());
        assert!(f.sync_data().is_err());
        assert!(f.map(1).is_err());
        let new_lock = sim.try_lock(p("/d/LOCK")).unwrap().unwrap();
        drop(old_lock);
        let again = sim.try_lock(p("/d/LOCK")).unwrap();
        assert!(again.is_none(), "old guard freed a new lock");
        drop(new_lock);
        let g = sim.open(p("/d/f"), OpenMode::Read).unwrap();
        drop(f);
        assert_eq!(g.read_all().unwrap(), b"x");
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"x");
    }

    #[test]
    fn locks_conflict_and_are_released_by_drop_and_crash() {
        let sim = SimVfs::new(10);
        sim.create_dir_all(p("/db")).unwrap();
        let a = sim.try_lock(p("/db/LOCK")).unwrap();
        assert!(a.is_some());
        assert!(
            sim.exists(p("/db/LOCK")).unwrap(),
            "try_lock creates the file"
        );
        assert!(sim.clone().try_lock(p("db/LOCK")).unwrap().is_none());
        assert!(sim.try_lock(p("/db/OTHER")).unwrap().is_some());
        drop(a);
        let b = sim.try_lock(p("/db/LOCK")).unwrap();
        assert!(b.is_some());
        sim.crash(CrashMode::ProcessKill);
        assert!(sim.try_lock(p("/db/LOCK")).unwrap().is_some());
        assert!(sim.try_lock(p("/missing/LOCK")).is_err());
    }

    #[test]
    fn crash_at_sync_halts_everything_until_crash() {
        let sim = SimVfs::new(11);
        durable_file(&sim, "/d/f", b"");
        sim.inject(Fault::CrashAtSync { after: 1 });
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        f.write_all_at(b"one", 0).unwrap();
        f.sync_data().unwrap();
        f.write_all_at(b"two", 3).unwrap();
        assert_eq!(code(f.sync_data()), Some(5));
        assert!(sim.is_halted());
        assert!(f.len().is_err() && f.write_all_at(b"x", 0).is_err() && f.sync_all().is_err());
        assert!(sim.exists(p("/d/f")).is_err());
        assert!(sim.list_dir(p("/d")).is_err());
        assert!(sim.open(p("/d/f"), OpenMode::Read).is_err());
        assert!(sim.create_dir_all(p("/e")).is_err());
        assert!(sim.sync_dir(p("/d")).is_err());
        assert!(sim.try_lock(p("/d/LOCK")).is_err());
        assert!(sim.rename(p("/d/f"), p("/d/g")).is_err());
        sim.crash(CrashMode::PowerLoss);
        assert!(!sim.is_halted());
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"one");
        let f = sim.open(p("/d/f"), OpenMode::ReadWrite).unwrap();
        f.sync_all().unwrap();
    }

    #[test]
    fn write_atomic_is_all_or_nothing_when_crashed_at_any_sync() {
        for mode in [CrashMode::PowerLoss, CrashMode::PowerLossTorn] {
            for after in 0..4 {
                let sim = SimVfs::new(after);
                durable_file(&sim, "/d/CURRENT", b"old");
                sim.inject(Fault::CrashAtSync { after });
                let res = write_atomic(&sim, p("/d/CURRENT"), b"new contents");
                sim.crash(mode);
                let got = sim.volatile_contents("/d/CURRENT").unwrap();
                if res.is_ok() {
                    assert_eq!(got, b"new contents");
                } else {
                    let ok = got == b"old" || got == b"new contents";
                    assert!(ok, "{mode:?} {after}: {got:?}");
                }
            }
        }
    }

    #[test]
    fn helpers_corrupt_and_truncate_both_images() {
        let sim = SimVfs::new(12);
        durable_file(&sim, "/d/f", b"abcd");
        sim.corrupt("/d/f", 1, 0x20).unwrap();
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"aBcd");
        assert_eq!(sim.durable_contents("/d/f").unwrap(), b"aBcd");
        assert_eq!(kind(sim.corrupt("/d/f", 4, 1)), ErrorKind::UnexpectedEof);
        assert!(sim.corrupt("/d/none", 0, 1).is_err());
        sim.truncate_file("/d/f", 2).unwrap();
        sim.crash(CrashMode::PowerLoss);
        assert_eq!(sim.volatile_contents("/d/f").unwrap(), b"aB");
    }

    #[test]
    fn rename_edge_cases() {
        let sim = SimVfs::new(13);
        sim.create_dir_all(p("/a/b")).unwrap();
        durable_file(&sim, "/a/f", b"f");
        let rename = |from, to| kind(sim.rename(p(from), p(to)));
        assert_eq!(rename("/a/f", "/a/b"), ErrorKind::IsADirectory);
        assert_eq!(rename("/a", "/a/b/c"), ErrorKind::InvalidInput);
        assert_eq!(rename("/a/nope", "/a/x"), ErrorKind::NotFound);
        sim.rename(p("/a/f"), p("/a/f")).unwrap();
        sim.rename(p("/a/b"), p("/c")).unwrap();
        assert!(sim.is_dir(p("/c")).unwrap() && !sim.exists(p("/a/b")).unwrap());
        assert!(sim.remove_dir_all(p("/")).is_err());
        assert!(sim.remove_file(p("/c")).is_err());
        assert!(sim.remove_dir_all(p("/a/f")).is_err());
        assert!(sim.list_dir(p("/a/f")).is_err());
    }
}
