//! Changing a collection's settings after creation (`Collection::update_config`).

use super::CollectionInner;
use crate::config::CollectionConfig;
use crate::manifest;
use crate::{ConfigUpdate, Result};
use std::sync::Arc;

impl CollectionInner {
    /// Apply `update` to the settings, persist them in the manifest (one swap) and use them from
    /// now on; returns the new configuration.
    pub(crate) fn update_config(&self, update: &ConfigUpdate) -> Result<CollectionConfig> {
        self.writer()?;
        let mut manifest = self.catalog.lock();
        let next_config = update.apply(&manifest.config)?;
        if next_config == manifest.config {
            return Ok(next_config);
        }
        let mut next = manifest.clone();
        next.config = next_config.clone();
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for new settings failed: {e}"));
            return Err(e);
        }
        self.config.store(Arc::new(next_config.clone()));
        self.catalog.publish(&mut manifest, next);
        Ok(next_config)
    }
}
