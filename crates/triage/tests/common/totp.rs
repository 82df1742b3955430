//! TOTP codes of a secret, as an authenticator app would show them.

use chrono::Utc;

/// The current 6-digit code of a base32 TOTP secret.
pub fn totp_now(secret: &str) -> String {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    totp.generate(u64::try_from(Utc::now().timestamp()).unwrap())
        .to_string()
}

/// The code of one TOTP step of a base32 secret.
pub fn totp_at_step(secret: &str, step: u64) -> String {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    totp.generate(step * 30).to_string()
}
