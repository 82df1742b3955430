//! Statistics on the staff side (举报情况统计): the periodic refresh of the
//! stored cells, the bulletin it publishes for the public app, the hotspot
//! flags (重点管理) with their mails to the unit above, and the figures of
//! one unit's jurisdiction for the dashboard and `GET /api/v1/stats`.
//!
//! The bulletin is computed and suppressed here and stored as a finished
//! document: the public app reads only numbers it may show, and they change
//! only at a refresh, so watching the page does not reveal a single report.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sunlight_core::policy::Policy;
use sunlight_core::stats::{
    Bulletin, BulletinRules, Figures, HotspotRule, Month, Tally, Tree, TreeUnit,
};
use sunlight_core::{Level, Role, UnitId};
use sunlight_store::{HotspotRow, NewMail, StatsRefresh, Store, setting_keys};
use tokio::sync::RwLock;

use crate::error::CaseworkError;
use crate::i18n::catalog;
use crate::mail::MailStyle;

/// The refresh job's lease name.
pub const LEASE: &str = "stats";

/// `[stats]` in the configuration file.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatsSettings {
    /// How often figures, the bulletin and hotspots are refreshed; 0 turns
    /// the job off in this process.
    pub refresh_minutes: u32,
    /// Months on the staff dashboard, the current one included.
    pub dashboard_months: u32,
    /// Months on the public bulletin.
    pub bulletin_months: u32,
    /// Public cells below this are shown as "< N".
    pub min_cell: u64,
    /// No public breakdown names a unit below this level.
    pub lowest_public_level: Level,
    pub hotspot_window_days: u32,
    pub hotspot_threshold: u64,
    pub hotspot_rise_factor: f64,
    pub hotspot_rise_min: u64,
    pub hotspot_history_windows: u32,
}

impl Default for StatsSettings {
    fn default() -> Self {
        let rules = BulletinRules::default();
        let hot = HotspotRule::default();
        Self {
            refresh_minutes: 60,
            dashboard_months: 12,
            bulletin_months: rules.months,
            min_cell: rules.min_cell,
            lowest_public_level: rules.lowest_level,
            hotspot_window_days: hot.window_days,
            hotspot_threshold: hot.threshold,
            hotspot_rise_factor: hot.rise_factor,
            hotspot_rise_min: hot.rise_min,
            hotspot_history_windows: hot.history_windows,
        }
    }
}

impl StatsSettings {
    pub fn bulletin_rules(&self) -> BulletinRules {
        BulletinRules {
            min_cell: self.min_cell.max(1),
            lowest_level: self.lowest_public_level,
            months: self.bulletin_months.clamp(1, 120),
        }
    }

    pub fn hotspot_rule(&self) -> HotspotRule {
        HotspotRule {
            window_days: self.hotspot_window_days.max(1),
            threshold: self.hotspot_threshold.max(1),
            rise_factor: self.hotspot_rise_factor,
            rise_min: self.hotspot_rise_min,
            history_windows: self.hotspot_history_windows.max(1),
        }
    }

    /// Refused values, in words for the operator.
    pub fn check(&self) -> Result<(), String> {
        if !(self.hotspot_rise_factor.is_finite() && self.hotspot_rise_factor > 1.0) {
            return Err("[stats] hotspot_rise_factor must be a number above 1".into());
        }
        if self.min_cell == 0 {
            return Err("[stats] min_cell must be at least 1".into());
        }
        if self.dashboard_months == 0 || self.dashboard_months > 120 {
            return Err("[stats] dashboard_months must be 1-120".into());
        }
        if self.bulletin_months == 0 || self.bulletin_months > 120 {
            return Err("[stats] bulletin_months must be 1-120".into());
        }
        Ok(())
    }
}

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsPass {
    pub refreshed: StatsRefresh,
    /// Units flagged by this pass.
    pub raised: Vec<UnitId>,
    /// Flags cleared by this pass.
    pub cleared: Vec<UnitId>,
    pub mails: usize,
}

/// The stored figures as last read, kept until the next refresh.
#[derive(Debug)]
struct Loaded {
    refreshed_at: Option<Vec<u8>>,
    tally: Arc<Tally>,
    tree: Arc<Tree>,
    months: Vec<Month>,
}

/// A hotspot as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct HotspotView {
    pub flag: HotspotRow,
    pub unit_name: String,
    /// Reports received per dashboard month, oldest first.
    pub trend: Vec<(Month, u64)>,
}

/// The statistics service; cheap to clone.
#[derive(Debug, Clone)]
pub struct Stats {
    store: Store,
    policy: Arc<Policy>,
    pub settings: StatsSettings,
    mail: MailStyle,
    loaded: Arc<RwLock<Option<Loaded>>>,
}

async fn tree_of(store: &Store) -> Result<Tree, CaseworkError> {
    Ok(Tree::new(store.units().await?.into_iter().map(|u| {
        TreeUnit {
            id: u.id,
            name: u.name,
            level: u.level,
            parent: u.parent,
        }
    })))
}

impl Stats {
    pub fn new(
        store: Store,
        policy: Arc<Policy>,
        settings: StatsSettings,
        mail: MailStyle,
    ) -> Self {
        Self {
            store,
            policy,
            settings,
            mail,
            loaded: Arc::new(RwLock::new(None)),
        }
    }

    /// Refreshes the cells (all months the first time; then from the month
    /// before the last refresh, so a process that was down for a while
    /// catches up), publishes the bulletin and raises or clears hotspot flags.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<StatsPass, CaseworkError> {
        let offset = self.policy.utc_offset();
        let current = Month::of(now, offset);
        let last = self.refreshed_at().await?;
        let from = match last {
            Some(at) if self.store.has_stats().await? => {
                Month::of(at, offset).prev().min(current.prev())
            }
            _ => self
                .store
                .first_received_at()
                .await?
                .map_or(current, |at| Month::of(at, offset)),
        };
        let refreshed = self.store.refresh_stats(from, now, offset).await?;
        let tree = tree_of(&self.store).await?;
        let rules = self.settings.bulletin_rules();
        let months = current.last(rules.months);
        let first = months.first().copied().unwrap_or(current);
        let tally = self.store.stat_tally(first, current).await?;
        let bulletins: Vec<Bulletin> = tree
            .units()
            .filter(|u| u.parent.is_none())
            .map(|root| {
                Bulletin::compute(
                    &tally.cells,
                    &tally.days,
                    &tree,
                    &root.id,
                    rules,
                    now,
                    offset,
                )
            })
            .collect();
        let json = serde_json::to_vec(&bulletins)
            .map_err(|e| CaseworkError::Internal(format!("bulletin: {e}")))?;
        self.store.put_setting(setting_keys::BULLETIN, json).await?;
        let (raised, cleared, mails) = self.hotspots(&tree, now).await?;
        self.store
            .put_setting(
                setting_keys::STATS_REFRESHED_AT,
                now.to_rfc3339().into_bytes(),
            )
            .await?;
        Ok(StatsPass {
            refreshed,
            raised,
            cleared,
            mails,
        })
    }

    /// Judges every unit on its reports in the latest window against the
    /// windows before; flags new hotspots (audited, mailed to the
    /// supervisors of the unit above) and clears flags no longer deserved.
    async fn hotspots(
        &self,
        tree: &Tree,
        now: DateTime<Utc>,
    ) -> Result<(Vec<UnitId>, Vec<UnitId>, usize), CaseworkError> {
        let rule = self.settings.hotspot_rule();
        let window = Duration::days(i64::from(rule.window_days));
        let current = self.store.received_per_unit(now - window, now).await?;
        let mut past: Vec<HashMap<UnitId, u64>> = Vec::new();
        for k in 1..=i32::try_from(rule.history_windows).unwrap_or(4) {
            let end = now - window * k;
            past.push(self.store.received_per_unit(end - window, end).await?);
        }
        let open: HashMap<UnitId, HotspotRow> = self
            .store
            .hotspots(now)
            .await?
            .into_iter()
            .filter(|f| f.cleared_at.is_none())
            .map(|f| (f.unit.clone(), f))
            .collect();
        let staff = self.store.all_staff().await?;
        let (mut raised, mut cleared, mut mails_written) = (Vec::new(), Vec::new(), 0);
        for unit in tree.units() {
            let count = current.get(&unit.id).copied().unwrap_or(0);
            let history: Vec<u64> = past
                .iter()
                .map(|w| w.get(&unit.id).copied().unwrap_or(0))
                .collect();
            let verdict = rule.judge(count, &history);
            match (verdict, open.get(&unit.id)) {
                (Some(reason), None) => {
                    let baseline = HotspotRule::baseline(&history);
                    // The unit above oversees; a root unit is told itself.
                    let overseer = unit.parent.as_ref().unwrap_or(&unit.id);
                    let t = catalog(self.mail.lang);
                    let count_text = count.to_string();
                    let days = rule.window_days.to_string();
                    let base = format!("{baseline:.1}");
                    let link = format!("{}/stats", self.mail.link_base.trim_end_matches('/'));
                    let reason_text = t.get(match reason {
                        sunlight_core::stats::HotspotReason::Threshold => "hotspot.threshold",
                        sunlight_core::stats::HotspotReason::Rise => "hotspot.rise",
                    });
                    let args = [
                        ("unit", unit.name.as_str()),
                        ("count", count_text.as_str()),
                        ("days", days.as_str()),
                        ("baseline", base.as_str()),
                        ("reason", reason_text),
                        ("link", link.as_str()),
                    ];
                    let day = now.format("%Y%m%d").to_string();
                    let mails: Vec<NewMail> = staff
                        .iter()
                        .filter(|s| {
                            !s.disabled && s.role == Role::Supervisor && s.unit == *overseer
                        })
                        .map(|s| NewMail {
                            dedupe_key: format!("hotspot/{}/{day}/{}", unit.id, s.email),
                            recipient: s.email.clone(),
                            subject: t.format("mail.hotspot_subject", &args),
                            body: format!(
                                "{}\n\n-- \n{}\n",
                                t.format("mail.hotspot_body", &args),
                                t.get("mail.footer")
                            ),
                            case_id: None,
                            kind: "hotspot".into(),
                        })
                        .collect();
                    if self
                        .store
                        .raise_hotspot(&unit.id, reason, count, baseline, &mails, now)
                        .await?
                        .is_some()
                    {
                        mails_written += mails.len();
                        raised.push(unit.id.clone());
                    }
                }
                (None, Some(flag)) if self.store.clear_hotspot(flag, now).await? => {
                    cleared.push(unit.id.clone());
                }
                _ => {}
            }
        }
        Ok((raised, cleared, mails_written))
    }

    /// The stored cells of the dashboard's months, read again only after a
    /// refresh (by any process) changed them.
    async fn loaded(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Arc<Tally>, Arc<Tree>, Vec<Month>), CaseworkError> {
        let stamp = self.store.setting(setting_keys::STATS_REFRESHED_AT).await?;
        let months = Month::of(now, self.policy.utc_offset()).last(self.settings.dashboard_months);
        if let Some(l) = self.loaded.read().await.as_ref()
            && l.refreshed_at == stamp
            && l.months == months
        {
            return Ok((l.tally.clone(), l.tree.clone(), l.months.clone()));
        }
        let (Some(first), Some(last)) = (months.first(), months.last()) else {
            return Err(CaseworkError::Internal("no dashboard months".into()));
        };
        let tally = Arc::new(self.store.stat_tally(*first, *last).await?);
        let tree = Arc::new(tree_of(&self.store).await?);
        *self.loaded.write().await = Some(Loaded {
            refreshed_at: stamp,
            tally: tally.clone(),
            tree: tree.clone(),
            months: months.clone(),
        });
        Ok((tally, tree, months))
    }

    /// The figures of `unit`'s jurisdiction over the dashboard's months.
    pub async fn figures(
        &self,
        unit: &UnitId,
        now: DateTime<Utc>,
    ) -> Result<Figures, CaseworkError> {
        let (tally, tree, months) = self.loaded(now).await?;
        Ok(Figures::compute(
            &tally.cells,
            &tally.days,
            &tree,
            unit,
            &months,
        ))
    }

    /// When the figures were last refreshed.
    pub async fn refreshed_at(&self) -> Result<Option<DateTime<Utc>>, CaseworkError> {
        Ok(self
            .store
            .setting(setting_keys::STATS_REFRESHED_AT)
            .await?
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    /// Hotspots in `unit`'s jurisdiction below it (what the unit above a
    /// flagged unit oversees), open and recently cleared, with their trend.
    pub async fn hotspots_under(
        &self,
        unit: &UnitId,
        now: DateTime<Utc>,
    ) -> Result<Vec<HotspotView>, CaseworkError> {
        let (tally, tree, months) = self.loaded(now).await?;
        let since = now - Duration::days(i64::from(self.settings.hotspot_window_days));
        // Received per (unit, month), read once for every flag's trend.
        let mut received: HashMap<(&UnitId, Month), u64> = HashMap::new();
        for (k, c) in &tally.cells {
            if k.measure == sunlight_core::Measure::Received {
                *received.entry((&k.unit, k.month)).or_default() += c.n;
            }
        }
        let mut out = Vec::new();
        for flag in self.store.hotspots(since).await? {
            if flag.unit == *unit || !tree.within(&flag.unit, unit) {
                continue;
            }
            let trend = months
                .iter()
                .map(|m| (*m, received.get(&(&flag.unit, *m)).copied().unwrap_or(0)))
                .collect();
            out.push(HotspotView {
                unit_name: tree
                    .get(&flag.unit)
                    .map_or_else(|| flag.unit.to_string(), |u| u.name.clone()),
                flag,
                trend,
            });
        }
        Ok(out)
    }
}
