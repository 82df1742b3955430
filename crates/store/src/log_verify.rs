//! `sunlight log verify`: the transparency log recomputed from its rows —
//! no gap in the places, every published head's root equal to the tree's
//! at that size, and every filing's leaf equal to the hash of the sealed
//! material stored for it now (purged cases excepted: their material is
//! gone by design).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use sunlight_core::crypto::Suite;
use sunlight_core::log::{EnvelopesHasher, LeafRecord};
use uuid::Uuid;

use crate::entity::{attachment, attachment_chunk, case, log_leaf, message};
use crate::{LogCheck, Store, StoreError};

impl Store {
    pub async fn verify_log(&self) -> Result<LogCheck, StoreError> {
        let suite = self.log_suite().await?;
        let tree = match self.log_tree().await {
            Ok(t) => t,
            Err(StoreError::Corrupt(what)) => return Ok(LogCheck::Broken(what)),
            Err(e) => return Err(e),
        };
        let heads = self.log_heads().await?;
        for h in &heads {
            if tree.root(h.size) != Some(h.root) {
                return Ok(LogCheck::Broken(format!(
                    "the published head of size {} ({}) does not match the stored leaves ({} placed)",
                    h.size,
                    h.day,
                    tree.len()
                )));
            }
        }
        // Leaves placed beyond the newest head: a head row was deleted.
        let published = heads.last().map_or(0, |h| h.size);
        if tree.len() != published {
            return Ok(LogCheck::Broken(format!(
                "{} leaves are placed but the newest head has {published}: a head is missing",
                tree.len()
            )));
        }
        let mut purged = 0;
        let leaves = log_leaf::Entity::find()
            .filter(log_leaf::Column::Envelopes.is_not_null())
            .all(self.conn())
            .await?;
        for leaf in leaves {
            // A purged case's leaf keeps its hash but no longer names it.
            if leaf.case_id.is_none() {
                purged += 1;
                continue;
            }
            if let Some(what) = self.mismatch(suite, &leaf).await? {
                return Ok(LogCheck::Broken(what));
            }
        }
        Ok(LogCheck::Intact {
            leaves: tree.len(),
            heads: heads.len() as u64,
            purged,
        })
    }

    /// Every filing not yet placed, checked against its sealed material.
    pub(crate) async fn check_pending_material(&self, suite: Suite) -> Result<(), StoreError> {
        let pending = log_leaf::Entity::find()
            .filter(log_leaf::Column::Idx.is_null())
            .filter(log_leaf::Column::CaseId.is_not_null())
            .all(self.conn())
            .await?;
        for leaf in pending {
            if let Some(what) = self.mismatch(suite, &leaf).await? {
                return Err(StoreError::Corrupt(format!("{what}: not publishing")));
            }
        }
        Ok(())
    }

    /// What is wrong with a filing's leaf, if anything (a purged case's
    /// material is gone by design: nothing).
    async fn mismatch(
        &self,
        suite: Suite,
        leaf: &log_leaf::Model,
    ) -> Result<Option<String>, StoreError> {
        let Some(case_id) = leaf.case_id else {
            return Ok(None);
        };
        let Some(envelopes) = self
            .stored_envelopes(suite, case_id, leaf.message_id)
            .await?
        else {
            return Ok(None);
        };
        let record = LeafRecord {
            envelopes,
            nonce: leaf
                .nonce
                .as_deref()
                .and_then(|n| n.try_into().ok())
                .unwrap_or_default(),
            day: leaf.day.parse().unwrap_or_default(),
        };
        let matches = leaf.envelopes.as_deref() == Some(envelopes.as_slice())
            && record.hash(suite).as_slice() == leaf.leaf_hash.as_slice();
        Ok((!matches).then(|| {
            format!(
                "the sealed material of case {case_id}{} no longer matches its leaf",
                leaf.message_id
                    .map(|m| format!(", message {m}"))
                    .unwrap_or_default()
            )
        }))
    }

    /// The hash of a filing's sealed material as stored now; `None` once
    /// its case was purged.
    async fn stored_envelopes(
        &self,
        suite: Suite,
        case_id: Uuid,
        message_id: Option<Uuid>,
    ) -> Result<Option<sunlight_core::log::Hash>, StoreError> {
        let Some(c) = case::Entity::find_by_id(case_id).one(self.conn()).await? else {
            return Err(StoreError::Corrupt(format!(
                "log leaf of a missing case {case_id}"
            )));
        };
        if c.purged_at.is_some() {
            return Ok(None);
        }
        let mut h = EnvelopesHasher::new(suite);
        match message_id {
            None => h.part(&c.sealed_report),
            Some(m) => {
                let row = message::Entity::find_by_id(m)
                    .one(self.conn())
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("log leaf of a missing message {m}"))
                    })?;
                h.part(&row.sealed_body);
            }
        }
        let files = attachment::Entity::find()
            .filter(attachment::Column::CaseId.eq(case_id))
            .filter(match message_id {
                None => attachment::Column::MessageId.is_null(),
                Some(m) => attachment::Column::MessageId.eq(m),
            })
            .order_by_asc(attachment::Column::Id)
            .all(self.reader())
            .await?;
        for f in files {
            h.part(&f.sealed_meta);
            h.part(&f.stream_header);
            // One chunk at a time: a file's chunks are never all in memory.
            for seq in 0..f.chunk_count {
                let chunk = attachment_chunk::Entity::find_by_id((f.id, seq))
                    .one(self.reader())
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("attachment {}: chunk {seq} missing", f.id))
                    })?;
                h.part(&chunk.data);
            }
        }
        Ok(Some(h.finish()))
    }
}
