//! A short-lived in-process cache of scheme definitions for the submission hot
//! path: a definition (tests included) is parsed once every few seconds rather
//! than on every application. A changed scheme is seen within `TTL`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use fasttrack_core::scheme::SchemeDefinition;
use fasttrack_core::store::{Db, schemes};

const TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct SchemeCache {
    entries: RwLock<HashMap<String, (Instant, Arc<SchemeDefinition>)>>,
}

impl SchemeCache {
    pub async fn get(&self, db: &Db, id: &str) -> sqlx::Result<Option<Arc<SchemeDefinition>>> {
        if let Ok(entries) = self.entries.read()
            && let Some((at, def)) = entries.get(id)
            && at.elapsed() < TTL
        {
            return Ok(Some(def.clone()));
        }
        let Some(stored) = schemes::get(db, id).await? else { return Ok(None) };
        let def = Arc::new(stored.definition);
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(id.to_owned(), (Instant::now(), def.clone()));
        }
        Ok(Some(def))
    }

    /// Drops a scheme this process changed, so its next read is fresh (other processes see
    /// the change within `TTL`).
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}
