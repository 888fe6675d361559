//! `Database`: a directory of collections.

use crate::collection::{Collection, Slot};
use crate::error::{guard, Failure, JsFailure, Result};
use crate::js;
use crate::options;
use crate::task::{self, IntoJs, Job};
use crate::values::backup_stats;
use napi::bindgen_prelude::{AsyncTask, Env, ToNapiValue, Unknown};
use napi_derive::napi;
use ndb::DatabaseOptions;
use parking_lot::{Mutex, RwLock};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What a `Database` object and its collections share. `close()` empties it, which drops the
/// library's handles (and with the last of them, once running operations finish, the lock).
pub(crate) struct Shared {
    db: RwLock<Option<ndb::Database>>,
    slots: Mutex<Vec<Weak<Slot>>>,
}

impl IntoJs for ndb::BackupStats {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        backup_stats(&self).into_unknown(env)
    }
}

/// An nDB database: a directory holding collections.
///
/// `new Database(path)` opens it for writing (one writer process at a time; a second gets an
/// error with code `NDB_LOCKED`); `new Database(path, { readOnly: true })` opens a reader that
/// takes no lock and may run beside the writer. A reader keeps the state it saw until
/// `Collection.refresh()`; with `refreshIntervalMs` its searches refresh by themselves when
/// the last look is older than that (`0`: before every search).
#[napi]
pub struct Database {
    shared: Arc<Shared>,
    read_only: bool,
    path: String,
}

#[napi]
impl Database {
    /// Open (creating the directory if missing) the database in `path`.
    #[napi(
        constructor,
        ts_args_type = "path: string, options?: DatabaseOptions | null"
    )]
    pub fn new(path: Unknown<'_>, options: Unknown<'_>) -> Result<Self, JsFailure> {
        let path = js::string(&path, "path")?;
        let mut read_only = false;
        let mut db_options = DatabaseOptions::default();
        if let Some(o) = js::options(&options, "options")? {
            if let Some(v) = js::property(&o, "readOnly", "options")? {
                read_only = js::boolean(&v, "options.readOnly")?;
            }
            if let Some(v) = js::property(&o, "backgroundMaintenance", "options")? {
                db_options = db_options
                    .with_background_maintenance(js::boolean(&v, "options.backgroundMaintenance")?);
            }
            if let Some(v) = js::property(&o, "refreshIntervalMs", "options")? {
                if !read_only {
                    return Err(Failure::invalid(
                        "options.refreshIntervalMs is for readers (a writer always sees its own \
                         writes): pass readOnly: true",
                    )
                    .into());
                }
                let ms = js::number(&v, "options.refreshIntervalMs")?;
                let every = Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
                    Failure::invalid(format!(
                        "options.refreshIntervalMs must be a number of milliseconds >= 0, got {ms}"
                    ))
                })?;
                db_options = db_options.with_reader_refresh(every);
            }
        }
        let db = guard(|| {
            Ok(if read_only {
                ndb::Database::open_read_only_with_options(&path, db_options)?
            } else {
                ndb::Database::open_with_options(&path, db_options)?
            })
        })?;
        Ok(Self {
            shared: Arc::new(Shared {
                db: RwLock::new(Some(db)),
                slots: Mutex::new(Vec::new()),
            }),
            read_only,
            path,
        })
    }

    fn db(&self) -> Result<ndb::Database> {
        self.shared.db.read().clone().ok_or_else(Failure::closed)
    }

    fn wrap(&self, coll: ndb::Collection) -> Collection {
        let slot = Arc::new(Slot::new(coll));
        let mut slots = self.shared.slots.lock();
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(&slot));
        Collection::new(slot)
    }

    /// Create a collection of `dim`-dimensional vectors. Throws `NDB_EXISTS` if the name is
    /// taken, `NDB_READ_ONLY` on a reader.
    #[napi(ts_args_type = "name: string, dim: number, options?: CollectionOptions | null")]
    pub fn create_collection(
        &self,
        name: Unknown<'_>,
        dim: Unknown<'_>,
        options: Unknown<'_>,
    ) -> Result<Collection, JsFailure> {
        let name = js::string(&name, "name")?;
        let dim = js::count(&dim, "dim")?;
        let config = options::collection_config(dim, js::options(&options, "options")?)?;
        let db = self.db()?;
        let coll = guard(|| Ok(db.create_collection(&name, config)?))?;
        Ok(self.wrap(coll))
    }

    /// The collection `name`; throws `NDB_NOT_FOUND` if there is none.
    #[napi(ts_args_type = "name: string")]
    pub fn get_collection(&self, name: Unknown<'_>) -> Result<Collection, JsFailure> {
        let name = js::string(&name, "name")?;
        let db = self.db()?;
        let coll = guard(|| Ok(db.get_collection(&name)?))?;
        Ok(self.wrap(coll))
    }

    /// Names of all collections, sorted.
    #[napi]
    pub fn list_collections(&self) -> Result<Vec<String>, JsFailure> {
        let db = self.db()?;
        Ok(guard(|| Ok(db.collection_names()?))?)
    }

    /// Whether a collection named `name` exists.
    #[napi(ts_args_type = "name: string")]
    pub fn has_collection(&self, name: Unknown<'_>) -> Result<bool, JsFailure> {
        let name = js::string(&name, "name")?;
        let db = self.db()?;
        Ok(guard(|| Ok(db.has_collection(&name)?))?)
    }

    /// Delete a collection and its files; returns whether it existed. Its `Collection` objects
    /// fail with `NDB_NOT_FOUND` afterwards.
    #[napi(ts_args_type = "name: string")]
    pub fn drop_collection(&self, name: Unknown<'_>) -> Result<bool, JsFailure> {
        let name = js::string(&name, "name")?;
        let db = self.db()?;
        Ok(guard(|| Ok(db.drop_collection(&name)?))?)
    }

    /// Write a consistent, point-in-time copy of every collection into `dest`, a new (or
    /// empty) directory, while reads and writes go on: every write acknowledged before the
    /// call is in the copy; immutable files are hard-linked where the file system allows. The
    /// copy is durable when the Promise resolves and opens as an ordinary database. Rejects
    /// with `NDB_DESTINATION_NOT_EMPTY` if `dest` holds anything, `NDB_INVALID_ARGUMENT` if it
    /// lies inside the database, `NDB_READ_ONLY` on a reader. Runs on the libuv thread pool.
    #[napi(ts_args_type = "dest: string", ts_return_type = "Promise<BackupStats>")]
    pub fn backup(&self, dest: Unknown<'_>) -> AsyncTask<Job<ndb::BackupStats>> {
        let args = js::string(&dest, "dest").and_then(|dest| Ok((self.db()?, dest)));
        task::spawn(args.map(|(db, dest)| move || Ok(db.backup(dest)?)))
    }

    /// Release the database: every later call on it or its collections throws `NDB_CLOSED`.
    /// The write lock is released as soon as operations already running finish. Calling it
    /// twice is harmless.
    #[napi]
    pub fn close(&self) {
        let slots: Vec<Arc<Slot>> = self
            .shared
            .slots
            .lock()
            .drain(..)
            .filter_map(|s| s.upgrade())
            .collect();
        for slot in slots {
            slot.close();
        }
        let db = self.shared.db.write().take();
        drop(db);
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.shared.db.read().is_none()
    }

    /// Whether this database was opened with `{ readOnly: true }`.
    #[napi(getter)]
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The directory given to the constructor.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }
}
