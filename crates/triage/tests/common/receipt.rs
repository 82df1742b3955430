//! What the desk hands a reporter besides the code: the filing receipt.

use serde_json::Value;
use sunlight_core::log::{Outcome, Receipt, check_receipt};

/// The answer of `POST /api/v1/intake` carries a receipt the log signed,
/// and the receipt does not carry the code.
pub fn handed_over(v: &Value) {
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    let checks = check_receipt(&receipt, &[], None, |_, _| None, |_, _| None);
    assert_eq!(checks[0].outcome, Outcome::Passed, "{v}");
    let digits: String = v["tracking_code"]
        .as_str()
        .unwrap()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    assert!(!v["receipt"].to_string().contains(&digits), "{v}");
}
