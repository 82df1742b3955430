//! Table `staff`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: String,
    #[sea_orm(unique)]
    pub email: String,
    pub role: String,
    /// `PasswordRecord` bytes: Argon2id parameters, salt, verifier.
    pub password_record: Vec<u8>,
    /// The member's own private key wrapped under their password-derived
    /// key (or, for an account not yet upgraded, the unit key itself).
    pub wrapped_unit_key: Vec<u8>,
    /// TOTP secret sealed to the unit key; `None` when not enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    pub must_change_password: bool,
    pub failed_logins: i32,
    pub locked_until: Option<DateTimeUtc>,
    pub disabled: bool,
    pub created_at: DateTimeUtc,
    /// The last TOTP time step accepted (RFC 6238 §5.2: each code once).
    pub totp_last_step: Option<i64>,
    /// Moves on every disable, reset and password change: a session
    /// opened under an older epoch is over, in every process.
    pub session_epoch: i64,
    /// A new TOTP secret (sealed like `totp_sealed`) that replaces the
    /// current one once the member has entered one code from it.
    pub totp_pending: Option<Vec<u8>>,
    /// SHA-256 hashes (32 bytes each, concatenated) of the member's unused
    /// second-factor recovery codes.
    pub recovery_codes: Option<Vec<u8>>,
    /// The public half of the member's own key pair.
    pub member_public_key: Option<Vec<u8>>,
    /// The unit's current private key sealed to the member's key.
    pub unit_key_sealed: Option<Vec<u8>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
