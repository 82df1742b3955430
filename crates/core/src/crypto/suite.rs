//! The two cipher suites a deployment can seal new material with.

use std::fmt;
use std::str::FromStr;

/// Chosen at `sunlight init --suite` and recorded in the database. It says
/// which kind of key a new unit, member or reporter gets; what is sealed
/// then follows the keys (an envelope with any SM2 recipient is a ShangMi
/// envelope), and every envelope names its own format in its first byte,
/// so material of both suites opens forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Suite {
    /// X25519, ChaCha20-Poly1305, SHA-256, HKDF-SHA256.
    #[default]
    Modern,
    /// 国密: SM2 public-key encryption, SM4-GCM, SM3, HKDF-SM3.
    ShangMi,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Modern, Suite::ShangMi];

    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Modern => "modern",
            Suite::ShangMi => "shangmi",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A suite name that is neither `modern` nor `shangmi`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown cipher suite {0:?}: choose modern or shangmi")]
pub struct UnknownSuite(pub String);

impl FromStr for Suite {
    type Err = UnknownSuite;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "modern" => Ok(Suite::Modern),
            "shangmi" => Ok(Suite::ShangMi),
            other => Err(UnknownSuite(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for suite in Suite::ALL {
            assert_eq!(suite.as_str().parse::<Suite>(), Ok(suite));
        }
        assert_eq!(Suite::default(), Suite::Modern);
        assert!("sm2".parse::<Suite>().is_err());
    }
}
