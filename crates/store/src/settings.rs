//! Deployment settings (salt for code stretching, cipher suite, …).

use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait, sea_query::OnConflict,
};
use sunlight_core::crypto::{PBKDF2_SM3_ROUNDS, PasswordPolicy, StretchParams, Suite};

use crate::entity::setting;
use crate::{Store, StoreError};

/// Names of the settings rows.
pub mod keys {
    /// 16-byte salt for tracking-code stretching (the pepper is not here).
    pub const CODE_SALT: &str = "code_salt";
    /// Set once by `init`; its presence means the deployment exists.
    pub const INITIALIZED_AT: &str = "initialized_at";
    /// The published bulletin (JSON of `sunlight_core::stats::Bulletin`s),
    /// already suppressed: all the public app ever reads of statistics.
    pub const BULLETIN: &str = "bulletin";
    /// When statistics were last refreshed (RFC 3339): caches compare it.
    pub const STATS_REFRESHED_AT: &str = "stats_refreshed_at";
    /// The cipher suite new keys are made in (`modern` or `shangmi`),
    /// written by `init`; a deployment made before suites has none and is
    /// `modern`.
    pub const SUITE: &str = "cipher_suite";
    /// The transparency log's suite (its hash and signature): the
    /// deployment's suite when the first leaf was written, never changed.
    pub const LOG_SUITE: &str = "log_suite";
    /// Written the first time the suite is shangmi, never removed: material
    /// sealed in it cannot be read by the browser script, so a deployment
    /// that moves back to modern keeps sealing on the server.
    pub const SHANGMI_USED: &str = "shangmi_used";
    /// How new staff passwords are stretched: `argon2id` (no row) or
    /// `pbkdf2-sm3` (`sunlight suite passwords`, shangmi only).
    pub const PASSWORD_KDF: &str = "password_kdf";
}

/// The names `sunlight suite passwords` takes and the settings row holds.
pub const PASSWORD_KDFS: [&str; 2] = ["argon2id", "pbkdf2-sm3"];

impl Store {
    /// The deployment's cipher suite for new keys.
    pub async fn suite(&self) -> Result<Suite, StoreError> {
        crate::audit::suite_of(self.setting(keys::SUITE).await?)
    }

    /// Records the suite new keys are made in (at `init`, or a move), with
    /// its audit entry, in one transaction.
    pub async fn record_suite(
        &self,
        suite: Suite,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.conn().begin().await?;
        // The transparency log keeps the suite it started in: only while
        // it has no leaf does it follow a move (or `init`).
        let log_empty = crate::entity::log_leaf::Entity::find()
            .one(&txn)
            .await?
            .is_none()
            && crate::entity::log_head::Entity::find()
                .one(&txn)
                .await?
                .is_none();
        if log_empty {
            upsert(&txn, keys::LOG_SUITE, suite.as_str().as_bytes().to_vec()).await?;
        }
        upsert(&txn, keys::SUITE, suite.as_str().as_bytes().to_vec()).await?;
        if suite == Suite::ShangMi {
            // The first day only: the row says since when.
            setting::Entity::insert(setting::ActiveModel {
                key: Set(keys::SHANGMI_USED.to_owned()),
                value: Set(now.date_naive().to_string().into_bytes()),
            })
            .on_conflict(
                OnConflict::column(setting::Column::Key)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        } else {
            // PBKDF2-HMAC-SM3 is the shangmi suite's fallback: it does not
            // outlive the suite, nor wait to come back with it.
            setting::Entity::delete_by_id(keys::PASSWORD_KDF.to_owned())
                .exec(&txn)
                .await?;
        }
        audit_suite(&txn, actor, format!("suite={suite}"), now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// How a new password of this deployment is stretched: Argon2id with
    /// `params` in the suite, or PBKDF2-HMAC-SM3 where that was chosen.
    pub async fn password_policy(
        &self,
        params: StretchParams,
    ) -> Result<PasswordPolicy, StoreError> {
        let suite = self.suite().await?;
        Ok(if self.password_kdf_in(suite).await? == "pbkdf2-sm3" {
            PasswordPolicy::Pbkdf2Sm3 {
                rounds: PBKDF2_SM3_ROUNDS,
            }
        } else {
            PasswordPolicy::Argon2id { params, suite }
        })
    }

    /// Records how new passwords are stretched, with an audit entry.
    pub async fn record_password_kdf(
        &self,
        kdf: &str,
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        if !PASSWORD_KDFS.contains(&kdf) {
            return Err(StoreError::Invalid("password kdf"));
        }
        let txn = self.conn().begin().await?;
        upsert(&txn, keys::PASSWORD_KDF, kdf.as_bytes().to_vec()).await?;
        audit_suite(&txn, actor, format!("passwords={kdf}"), now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// How new passwords are stretched, by name: `pbkdf2-sm3` only where
    /// it was chosen and the suite is shangmi, `argon2id` otherwise.
    pub async fn password_kdf(&self) -> Result<&'static str, StoreError> {
        self.password_kdf_in(self.suite().await?).await
    }

    /// `password_kdf` with the suite already read.
    async fn password_kdf_in(&self, suite: Suite) -> Result<&'static str, StoreError> {
        let chosen = self.setting(keys::PASSWORD_KDF).await?;
        Ok(
            if chosen.as_deref() == Some(b"pbkdf2-sm3".as_slice()) && suite == Suite::ShangMi {
                "pbkdf2-sm3"
            } else {
                "argon2id"
            },
        )
    }

    /// Whether the deployment ever made shangmi material: the row `init`
    /// or a move wrote, or what that material leaves behind (an SM2 unit
    /// key, a scheme-3 case) where the row is missing.
    pub async fn shangmi_used(&self) -> Result<bool, StoreError> {
        if self.setting(keys::SHANGMI_USED).await?.is_some()
            || self.suite().await? == Suite::ShangMi
        {
            return Ok(true);
        }
        let row = self
            .conn()
            .query_one_raw(sea_orm::Statement::from_string(
                self.conn().get_database_backend(),
                // Only what intake's least-privilege role may read (units'
                // public keys, cases): intake asks this when it starts.
                "SELECT (SELECT count(*) FROM units WHERE length(public_key) = 65) \
                      + (SELECT count(*) FROM cases WHERE code_scheme = 3) AS n",
            ))
            .await?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        Ok(n > 0)
    }

    pub async fn setting(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(setting::Entity::find_by_id(key.to_owned())
            .one(self.conn())
            .await?
            .map(|m| m.value))
    }

    /// Writes a setting only if absent; returns whether it was written.
    pub async fn put_setting_once(&self, key: &str, value: Vec<u8>) -> Result<bool, StoreError> {
        let res = setting::Entity::insert(setting::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value),
        })
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(self.conn())
        .await?;
        Ok(res == 1)
    }

    /// Writes a setting, replacing any value.
    pub async fn put_setting(&self, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
        upsert(self.conn(), key, value).await
    }
}

/// Writes a setting on `conn` (a connection or a transaction), replacing
/// any value.
async fn upsert(conn: &impl ConnectionTrait, key: &str, value: Vec<u8>) -> Result<(), StoreError> {
    setting::Entity::insert(setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value),
    })
    .on_conflict(
        OnConflict::column(setting::Column::Key)
            .update_column(setting::Column::Value)
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The audit entry of a suite or password-function change.
async fn audit_suite(
    txn: &sea_orm::DatabaseTransaction,
    actor: &str,
    detail: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    crate::audit::append(
        txn,
        crate::AuditRecord {
            actor: actor.to_owned(),
            action: "system.suite".into(),
            detail,
            ..Default::default()
        },
        now,
    )
    .await
    .map(|_| ())
}
