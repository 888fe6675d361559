//! The database: a directory of collections, its manifest and its writer lock.

use crate::collection::{open_collection, Collection, CollectionOpenMode, Owner};
use crate::config::CollectionConfig;
use crate::error::IoContext;
use crate::limits::COLLECTION_NAME_BYTES_MAX;
use crate::manifest::{self, CollectionManifest, DatabaseManifest, MANIFEST_FILE};
use crate::{Error, Result};
use ndb_storage::{LockGuard, OsVfs, Vfs};
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
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            background_maintenance: true,
        }
    }
}

impl DatabaseOptions {
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
    /// WAL) taken when it is first opened through this handle. Writes fail with
    /// [`Error::ReadOnly`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(
            path.as_ref(),
            Arc::new(OsVfs),
            true,
            DatabaseOptions::default(),
        )
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
        remove_unnamed_collections(&*vfs, path, &manifest)?;
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
        if vfs.exists(&dir).at(&dir)? {
            // Leftover of a creation that crashed before the manifest named it.
            vfs.remove_dir_all(&dir).at(&dir)?;
        }
        let seg_dir = dir.join(crate::collection::SEGMENTS_DIR_NAME);
        vfs.create_dir_all(&seg_dir).at(&seg_dir)?;
        vfs.sync_dir(&dir).at(&dir)?;
        manifest::write_collection(vfs, &dir, &CollectionManifest::new(config))?;
        let mut next = st.manifest.clone();
        next.collections.push(name.to_string());
        // Syncs the database directory, which also makes the new collection directory durable.
        manifest::write_database(vfs, &self.inner.path, &next)?;
        st.manifest = next;
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
            None => CollectionOpenMode::ReadOnly,
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
        let mut next = st.manifest.clone();
        next.collections.retain(|n| n != name);
        manifest::write_database(vfs, &self.inner.path, &next)?;
        st.manifest = next;
        if let Some(inner) = st.open.remove(name) {
            inner.mark_dropped();
        }
        let dir = self.inner.path.join(name);
        if let Err(e) = vfs.remove_dir_all(&dir) {
            // The manifest no longer names it: the next open removes it.
            log::warn!("could not remove {}: {e}", dir.display());
        }
        Ok(true)
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

/// Remove collection directories that the manifest does not name (a creation that crashed
/// before its manifest swap, or a drop that crashed after it).
fn remove_unnamed_collections(vfs: &dyn Vfs, path: &Path, m: &DatabaseManifest) -> Result<()> {
    for entry in vfs.list_dir(path).at(path)? {
        let named = m.collections.contains(&entry.name);
        if entry.is_dir && !named && validate_collection_name(&entry.name).is_ok() {
            let dir = path.join(&entry.name);
            log::info!(
                "removing {} (not named by the database manifest)",
                dir.display()
            );
            vfs.remove_dir_all(&dir).at(&dir)?;
        } else if !entry.is_dir && entry.name == "MANIFEST.tmp" {
            let p = path.join(&entry.name);
            vfs.remove_file(&p).at(&p)?;
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
