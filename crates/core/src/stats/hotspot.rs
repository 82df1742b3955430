//! The hotspot rule (重点关注): a unit whose reports this month stand far above its own past is flagged.

use super::*;

/// When a unit is put under focused management (重点管理).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HotspotRule {
    /// The rolling window, in days (default 90).
    pub window_days: u32,
    /// Reports in one window that flag a unit whatever its past (default 30).
    pub threshold: u64,
    /// A window at this multiple of the mean of the earlier windows flags
    /// the unit (default 3.0) …
    pub rise_factor: f64,
    /// … when it holds at least this many reports (default 10), so 1 → 3
    /// does not.
    pub rise_min: u64,
    /// Earlier windows the mean is taken over (default 4).
    pub history_windows: u32,
}

impl Default for HotspotRule {
    fn default() -> Self {
        Self {
            window_days: 90,
            threshold: 30,
            rise_factor: 3.0,
            rise_min: 10,
            history_windows: 4,
        }
    }
}

/// Why a unit was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HotspotReason {
    /// At or over the threshold.
    Threshold,
    /// A sharp rise against its own past.
    Rise,
}

impl HotspotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Rise => "rise",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "threshold" => Some(Self::Threshold),
            "rise" => Some(Self::Rise),
            _ => None,
        }
    }
}

impl HotspotRule {
    /// Whether a unit with `current` reports in the latest window, and
    /// `past` in the windows before it, is a hotspot.
    pub fn judge(&self, current: u64, past: &[u64]) -> Option<HotspotReason> {
        if current >= self.threshold {
            return Some(HotspotReason::Threshold);
        }
        let baseline = Self::baseline(past);
        (current >= self.rise_min && current as f64 >= self.rise_factor * baseline.max(1.0))
            .then_some(HotspotReason::Rise)
    }

    /// The mean of the earlier windows, shown beside a flag.
    pub fn baseline(past: &[u64]) -> f64 {
        if past.is_empty() {
            0.0
        } else {
            past.iter().sum::<u64>() as f64 / past.len() as f64
        }
    }
}
