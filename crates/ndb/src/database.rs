//! The database: a directory of collections, its manifest and its writer lock.

use crate::collection::{open_collection, Collection, CollectionOpenMode, Owner};
use crate::config::CollectionConfig;
use crate::error::IoContext;
use crate::limits::COLLECTION_NAME_BYTES_MAX;
use crate::manifest::{self, CollectionManifest, DatabaseManifest, MANIFEST_FILE};
use crate::ownership;
use crate::{Error, Result};
use ndb_storage::{DirEntry, LockGuard, OsVfs, Vfs};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database-level lock file, held by the one writer.
const DB_LOCK_FILE: &str = "LOCK";

/// Options for [`Database::open_with_options`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseOptions {
    /// Run a background thread per collection that flushes full memtables (so writers do not
    /// wait for segment writes) and merges segments by a tiered policy. Default `true`.
    pub background_maintenance: bool,
    /// For read-only handles: before a search, move to the writer's newest committed state if
    /// it changed, looking at most this often (see [`Collection::refresh`]). Default `None`
    /// (a reader keeps the state it opened, or last refreshed, until `refresh()`).
    pub refresh_readers_every: Option<std::time::Duration>,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            background_maintenance: true,
            refresh_readers_every: None,
        }
    }
}

impl DatabaseOptions {
    /// Make read-only handles follow the writer by themselves: before a search, refresh if the
    /// last look is older than `every` (`Duration::ZERO`: before every search).
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, DatabaseOptions, Document, Search};
    /// use std::time::Duration;
    /// # let dir = tempfile::tempdir()?;
    /// let writer = Database::open(dir.path())?;
    /// let w = writer.create_collection("c", CollectionConfig::new(2))?;
    /// let following = DatabaseOptions::default().with_reader_refresh(Duration::ZERO);
    /// let reader = Database::open_read_only_with_options(dir.path(), following)?;
    /// let r = reader.get_collection("c")?;
    /// w.insert(Document::new("a", vec![1.0, 0.0]))?;
    /// assert_eq!(r.search(Search::new(&[1.0, 0.0]))?[0].id, "a");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_reader_refresh(mut self, every: std::time::Duration) -> Self {
        self.refresh_readers_every = Some(every);
        self
    }

    /// Enable or disable background maintenance.
    pub fn with_background_maintenance(mut self, on: bool) -> Self {
        self.background_maintenance = on;
        self
    }
}

struct DbInner {
    options: DatabaseOptions,
    path: PathBuf,
    vfs: Arc<dyn Vfs>,
    /// `None` when read-only.
    lock: Option<Arc<dyn LockGuard>>,
    state: Mutex<DbState>,
}

struct DbState {
    manifest: DatabaseManifest,
    open: HashMap<String, Arc<Owner>>,
}

/// An nDB database: a directory holding collections. Cheap to clone, `Send + Sync`.
///
/// One process at a time may open a database for writing ([`Database::open`]); any number may
/// open it with [`Database::open_read_only`], including while a writer is active.
///
/// ```
/// use ndb::{Database, CollectionConfig, Distance};
/// # let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path().join("data"))?;
/// db.create_collection("docs", CollectionConfig::new(3).with_distance(Distance::DotProduct))?;
/// assert_eq!(db.collection_names()?, vec!["docs".to_string()]);
/// assert!(db.has_collection("docs")?);
/// db.drop_collection("docs")?;
/// assert!(!db.has_collection("docs")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Database {
    inner: Arc<DbInner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.inner.path)
            .field("read_only", &self.inner.lock.is_none())
            .finish()
    }
}

/// Check a collection name: `[A-Za-z0-9_-]{1,64}`, and not a name nDB uses itself.
pub(crate) fn validate_collection_name(name: &str) -> Result<()> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if name.is_empty() || name.len() > COLLECTION_NAME_BYTES_MAX || !ok_chars {
        return Err(Error::invalid(format!(
            "collection name {name:?} must be 1 to {COLLECTION_NAME_BYTES_MAX} characters from [A-Za-z0-9_-]"
        )));
    }
    if name == MANIFEST_FILE || name == DB_LOCK_FILE {
        return Err(Error::invalid(format!(
            "collection name {name:?} is reserved"
        )));
    }
    Ok(())
}

impl Database {
    /// Open the database in `path` for reading and writing, creating the directory if it is
    /// missing. Fails with [`Error::CollectionLocked`] if another writer (another process, or
    /// another `Database` in this process) has it open, and with [`Error::NotADatabase`] if
    /// the directory holds something else.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with_options(path, DatabaseOptions::default())
    }

    /// [`Database::open`] with options (e.g. without background maintenance).
    pub fn open_with_options(path: impl AsRef<Path>, options: DatabaseOptions) -> Result<Self> {
        Self::open_with(path.as_ref(), Arc::new(OsVfs), false, options)
    }

    /// Open the database in `path` read-only: no lock is taken, nothing on disk is changed,
    /// and each collection shows a consistent snapshot (its segments plus a valid prefix of its
    /// WAL) taken when it is first opened through this handle, until
    /// [`Collection::refresh`] moves it on. Writes fail with [`Error::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_read_only_with_options(path, DatabaseOptions::default())
    }

    /// [`Database::open_read_only`] with options (e.g.
    /// [`DatabaseOptions::with_reader_refresh`]).
    pub fn open_read_only_with_options(
        path: impl AsRef<Path>,
        options: DatabaseOptions,
    ) -> Result<Self> {
        Self::open_with(path.as_ref(), Arc::new(OsVfs), true, options)
    }

    pub(crate) fn open_with(
        path: &Path,
        vfs: Arc<dyn Vfs>,
        read_only: bool,
        options: DatabaseOptions,
    ) -> Result<Self> {
        if read_only {
            let manifest =
                manifest::read_database(&*vfs, path)?.ok_or_else(|| Error::NotADatabase {
                    path: path.to_path_buf(),
                    reason: "no MANIFEST file".into(),
                })?;
            return Ok(Self::assemble(path, vfs, None, manifest, options));
        }
        if !vfs.is_dir(path).at(path)? {
            if vfs.exists(path).at(path)? {
                return Err(Error::NotADatabase {
                    path: path.to_path_buf(),
                    reason: "it is not a directory".into(),
                });
            }
            vfs.create_dir_all(path).at(path)?;
        }
        if !vfs.exists(&path.join(MANIFEST_FILE)).at(path)? {
            // Refuse a foreign directory before creating anything in it.
            check_no_foreign_entries(&*vfs, path)?;
        }
        let lock_path = path.join(DB_LOCK_FILE);
        let lock: Arc<dyn LockGuard> = Arc::from(
            vfs.try_lock(&lock_path)
                .at(&lock_path)?
                .ok_or(Error::CollectionLocked { path: lock_path })?,
        );
        let manifest = match manifest::read_database(&*vfs, path)? {
            Some(m) => m,
            None => {
                check_no_foreign_entries(&*vfs, path)?;
                let m = DatabaseManifest::default();
                manifest::write_database(&*vfs, path, &m)?;
                m
            }
        };
        tidy(&*vfs, path, &manifest)?;
        // A previous process may have created the directory or renamed the manifest and died
        // before syncing the directory: make the entries durable before acknowledging writes.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            vfs.sync_dir(parent).at(parent)?;
        }
        vfs.sync_dir(path).at(path)?;
        Ok(Self::assemble(path, vfs, Some(lock), manifest, options))
    }

    fn assemble(
        path: &Path,
        vfs: Arc<dyn Vfs>,
        lock: Option<Arc<dyn LockGuard>>,
        manifest: DatabaseManifest,
        options: DatabaseOptions,
    ) -> Self {
        Self {
            inner: Arc::new(DbInner {
                options,
                path: path.to_path_buf(),
                vfs,
                lock,
                state: Mutex::new(DbState {
                    manifest,
                    open: HashMap::new(),
                }),
            }),
        }
    }

    /// The file layer the database works through.
    pub(crate) fn vfs(&self) -> &Arc<dyn Vfs> {
        &self.inner.vfs
    }

    /// The database directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether this handle was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.lock.is_none()
    }

    /// Names of all collections, sorted.
    pub fn collection_names(&self) -> Result<Vec<String>> {
        let mut names = self.inner.state.lock().manifest.collections.clone();
        names.sort();
        Ok(names)
    }

    /// Whether a collection with this name exists.
    pub fn has_collection(&self, name: &str) -> Result<bool> {
        Ok(self
            .inner
            .state
            .lock()
            .manifest
            .collections
            .iter()
            .any(|n| n == name))
    }

    /// Create a collection. Fails with [`Error::CollectionExists`] if the name is taken.
    pub fn create_collection(&self, name: &str, config: CollectionConfig) -> Result<Collection> {
        let lock = self.inner.lock.clone().ok_or(Error::ReadOnly)?;
        validate_collection_name(name)?;
        config.validate()?;
        let vfs = &*self.inner.vfs;
        let mut st = self.inner.state.lock();
        if st.manifest.collections.iter().any(|n| n == name) {
            return Err(Error::CollectionExists(name.to_string()));
        }
        let dir = self.inner.path.join(name);
        prepare_collection_dir(vfs, &self.inner.path, name)?;
        let staging = self.inner.path.join(ownership::staging_dir_name(name));
        let seg_dir = staging.join(crate::collection::SEGMENTS_DIR_NAME);
        vfs.create_dir_all(&seg_dir).at(&seg_dir)?;
        ownership::write_marker(vfs, &staging)?;
        // Syncs the staging directory: its marker, manifest and segments directory are durable
        // before the directory takes the collection's name.
        manifest::write_collection(vfs, &staging, &CollectionManifest::new(config))?;
        vfs.rename(&staging, &dir).at(&dir)?;
        let mut next = st.manifest.clone();
        next.collections.push(name.to_string());
        // Syncs the database directory, which also makes the rename durable.
        manifest::write_database(vfs, &self.inner.path, &next)?;
        st.manifest = next;
        ownership::remove_marker(vfs, &dir);
        let inner = open_collection(
            Arc::clone(&self.inner.vfs),
            dir,
            name.to_string(),
            CollectionOpenMode::Writer {
                db_lock: lock,
                maintenance: self.inner.options.background_maintenance,
            },
        )?;
        let inner = Owner::new(inner);
        st.open.insert(name.to_string(), Arc::clone(&inner));
        Ok(Collection { inner })
    }

    /// A handle to an existing collection ([`Error::CollectionNotFound`] if absent). The first
    /// call opens it: maps its segments and replays its WAL.
    pub fn get_collection(&self, name: &str) -> Result<Collection> {
        let mut st = self.inner.state.lock();
        if !st.manifest.collections.iter().any(|n| n == name) {
            return Err(Error::CollectionNotFound(name.to_string()));
        }
        if let Some(inner) = st.open.get(name) {
            return Ok(Collection {
                inner: Arc::clone(inner),
            });
        }
        let mode = match &self.inner.lock {
            Some(lock) => CollectionOpenMode::Writer {
                db_lock: Arc::clone(lock),
                maintenance: self.inner.options.background_maintenance,
            },
            None => CollectionOpenMode::ReadOnly {
                refresh_every: self.inner.options.refresh_readers_every,
            },
        };
        let inner = open_collection(
            Arc::clone(&self.inner.vfs),
            self.inner.path.join(name),
            name.to_string(),
            mode,
        )?;
        let inner = Owner::new(inner);
        st.open.insert(name.to_string(), Arc::clone(&inner));
        Ok(Collection { inner })
    }

    /// Delete a collection and its files. Existing handles to it fail afterwards with
    /// [`Error::CollectionNotFound`]. Returns whether it existed.
    pub fn drop_collection(&self, name: &str) -> Result<bool> {
        if self.inner.lock.is_none() {
            return Err(Error::ReadOnly);
        }
        let vfs = &*self.inner.vfs;
        let mut st = self.inner.state.lock();
        if !st.manifest.collections.iter().any(|n| n == name) {
            return Ok(false);
        }
        let dir = self.inner.path.join(name);
        if vfs.is_dir(&dir).at(&dir)? {
            // Marked before the manifest forgets it: a crash after the swap leaves a directory
            // the next open can prove is nDB's own.
            ownership::write_marker(vfs, &dir)?;
            vfs.sync_dir(&dir).at(&dir)?;
        }
        let mut next = st.manifest.clone();
        next.collections.retain(|n| n != name);
        manifest::write_database(vfs, &self.inner.path, &next)?;
        st.manifest = next;
        if let Some(inner) = st.open.remove(name) {
            inner.mark_dropped();
        }
        if let Err(e) = vfs.remove_dir_all(&dir) {
            // The manifest no longer names it: the next open removes it.
            log::warn!("could not remove {}: {e}", dir.display());
        }
        Ok(true)
    }
}

impl Database {
    /// Entries of the database directory that are not nDB's: neither its manifest and lock nor
    /// a collection, nor what an unfinished create or drop left. nDB never removes them; `ndb
    /// verify` lists them. Sorted.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let db = ndb::Database::open(dir.path())?;
    /// std::fs::create_dir(dir.path().join("backup"))?;
    /// assert_eq!(db.foreign_entries()?, vec![dir.path().join("backup")]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn foreign_entries(&self) -> Result<Vec<PathBuf>> {
        let (vfs, path) = (&*self.inner.vfs, &self.inner.path);
        let manifest = self.inner.state.lock().manifest.clone();
        let mut out = Vec::new();
        for e in vfs.list_dir(path).at(path)? {
            if classify(vfs, path, &manifest, &e)? == Entry::Foreign {
                out.push(path.join(&e.name));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A directory without a manifest may hold only what a crashed creation leaves behind.
fn check_no_foreign_entries(vfs: &dyn Vfs, path: &Path) -> Result<()> {
    let foreign: Vec<String> = vfs
        .list_dir(path)
        .at(path)?
        .into_iter()
        .map(|e| e.name)
        .filter(|n| n != DB_LOCK_FILE && n != "MANIFEST.tmp")
        .collect();
    match foreign.first() {
        None => Ok(()),
        Some(first) => Err(Error::NotADatabase {
            path: path.to_path_buf(),
            reason: format!(
                "the directory has no MANIFEST but holds {} other entries (e.g. {first:?})",
                foreign.len()
            ),
        }),
    }
}

/// Before creating the collection `name`: remove what an unfinished create or drop of it left
/// (a marked directory, a staging directory); refuse a directory of that name that nDB did not
/// make.
fn prepare_collection_dir(vfs: &dyn Vfs, path: &Path, name: &str) -> Result<()> {
    let dir = path.join(name);
    if vfs.exists(&dir).at(&dir)? {
        if !vfs.is_dir(&dir).at(&dir)? || !ownership::has_marker(vfs, &dir)? {
            return Err(Error::invalid(format!(
                "cannot create collection {name:?}: {} already exists and was not made by nDB \
                 (nDB never removes what it did not create); move it away or choose another name",
                dir.display()
            )));
        }
        log::info!("removing {} (an unfinished create or drop)", dir.display());
        vfs.remove_dir_all(&dir).at(&dir)?;
    }
    let staging = path.join(ownership::staging_dir_name(name));
    if vfs.exists(&staging).at(&staging)? {
        if !vfs.is_dir(&staging).at(&staging)? || !ownership::is_staging_leftover(vfs, &staging)? {
            return Err(Error::invalid(format!(
                "cannot create collection {name:?}: {} holds files nDB did not put there; \
                 move it away",
                staging.display()
            )));
        }
        vfs.remove_dir_all(&staging).at(&staging)?;
    }
    Ok(())
}

/// What a database directory entry is, as far as nDB can prove.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// nDB's own file (the manifest, its temporary file, the lock) or a named collection.
    Live,
    /// Left by an unfinished create or drop: nDB may remove it.
    Abandoned,
    /// Not nDB's: never touched, reported by [`Database::foreign_entries`].
    Foreign,
}

fn classify(vfs: &dyn Vfs, path: &Path, m: &DatabaseManifest, e: &DirEntry) -> Result<Entry> {
    let p = path.join(&e.name);
    Ok(match (e.is_dir, e.name.as_str()) {
        (false, MANIFEST_FILE | DB_LOCK_FILE) => Entry::Live,
        (false, n) if n == format!("{MANIFEST_FILE}.tmp") => Entry::Abandoned,
        (true, n) if m.collections.iter().any(|c| c == n) => Entry::Live,
        (true, n) if validate_collection_name(n).is_ok() && ownership::has_marker(vfs, &p)? => {
            Entry::Abandoned
        }
        (true, n) if ownership::is_staging_name(n) && ownership::is_staging_leftover(vfs, &p)? => {
            Entry::Abandoned
        }
        _ => Entry::Foreign,
    })
}

/// At a writer open: remove what unfinished creates and drops left, clear the marker of
/// collections whose create committed, and leave everything else alone.
fn tidy(vfs: &dyn Vfs, path: &Path, m: &DatabaseManifest) -> Result<()> {
    for e in vfs.list_dir(path).at(path)? {
        let p = path.join(&e.name);
        match classify(vfs, path, m, &e)? {
            Entry::Abandoned if e.is_dir => {
                log::info!("removing {} (an unfinished create or drop)", p.display());
                vfs.remove_dir_all(&p).at(&p)?;
            }
            Entry::Abandoned => vfs.remove_file(&p).at(&p)?,
            Entry::Live if e.is_dir && ownership::has_marker(vfs, &p)? => {
                ownership::remove_marker(vfs, &p);
            }
            Entry::Live => {}
            Entry::Foreign => log::warn!(
                "{} is not part of the database; nDB leaves it alone",
                p.display()
            ),
        }
    }
    Ok(())
}

#[cfg(feature = "testing")]
impl Database {
    /// Open through a custom file layer (tests: [`crate::testing::SimVfs`]). Background
    /// maintenance is off, so runs are deterministic; see [`Database::open_with_vfs_options`].
    pub fn open_with_vfs(
        path: impl AsRef<Path>,
        vfs: Arc<dyn Vfs>,
        read_only: bool,
    ) -> Result<Self> {
        let options = DatabaseOptions::default().with_background_maintenance(false);
        Self::open_with(path.as_ref(), vfs, read_only, options)
    }

    /// [`Database::open_with_vfs`] with options.
    pub fn open_with_vfs_options(
        path: impl AsRef<Path>,
        vfs: Arc<dyn Vfs>,
        read_only: bool,
        options: DatabaseOptions,
    ) -> Result<Self> {
        Self::open_with(path.as_ref(), vfs, read_only, options)
    }
}
