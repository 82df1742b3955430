//! Who may read a report: the responsible unit and the units above it —
//! with the key-person rule applied at the door (domain.md rule 3, 突出关键人):
//! a report about the party secretary (党委主要负责人) or the organization
//! department head (组织部门主要负责人) of the chosen unit goes to the level
//! above, and the chosen unit is not a recipient of the keys.

use crate::{AccusedRole, UnitId};

/// The outcome of addressing a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressing {
    /// The unit whose queues the case enters.
    pub responsible: UnitId,
    /// Every unit whose key can open the report: the responsible unit and
    /// all units above it, nearest first.
    pub recipients: Vec<UnitId>,
    /// Whether the key-person rule moved the report up a level.
    pub escalated: bool,
}

/// Addresses a report made to `chain[0]`, where `chain` is the chosen unit
/// followed by its ancestors, nearest first (as the store returns it).
/// `None` for an empty chain.
///
/// A key-person report about the root unit stays at the root: the level
/// above the province (the central department) is outside this service, so
/// the root is the highest body that can act. docs/architecture.md records
/// this limit.
pub fn address(chain: &[UnitId], accused_role: AccusedRole) -> Option<Addressing> {
    let (chosen, above) = chain.split_first()?;
    let escalated = accused_role.is_key_person() && !above.is_empty();
    let recipients: Vec<UnitId> = if escalated {
        above.to_vec()
    } else {
        chain.to_vec()
    };
    let responsible = recipients.first().unwrap_or(chosen).clone();
    Some(Addressing {
        responsible,
        recipients,
        escalated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(ids: &[&str]) -> Vec<UnitId> {
        ids.iter().map(|s| UnitId::parse(s).unwrap()).collect()
    }

    #[test]
    fn rule_table() {
        let county = chain(&["gd-gz-tianhe", "gd-gz", "gd"]);
        type Row<'a> = (&'a [UnitId], AccusedRole, &'a str, &'a [&'a str], bool);
        let cases: &[Row<'_>] = &[
            (
                &county,
                AccusedRole::Ordinary,
                "gd-gz-tianhe",
                &["gd-gz-tianhe", "gd-gz", "gd"],
                false,
            ),
            (
                &county,
                AccusedRole::UnitLeader,
                "gd-gz-tianhe",
                &["gd-gz-tianhe", "gd-gz", "gd"],
                false,
            ),
            (
                &county,
                AccusedRole::PartySecretary,
                "gd-gz",
                &["gd-gz", "gd"],
                true,
            ),
            (
                &county,
                AccusedRole::OrgDeptHead,
                "gd-gz",
                &["gd-gz", "gd"],
                true,
            ),
            (&county[1..], AccusedRole::OrgDeptHead, "gd", &["gd"], true),
            (
                &county[2..],
                AccusedRole::PartySecretary,
                "gd",
                &["gd"],
                false,
            ),
            (&county[2..], AccusedRole::Ordinary, "gd", &["gd"], false),
        ];
        for (c, role, responsible, recipients, escalated) in cases {
            let a = address(c, *role).unwrap();
            assert_eq!(
                a.responsible.as_str(),
                *responsible,
                "{role:?} at {:?}",
                c.first()
            );
            assert_eq!(a.recipients, chain(recipients), "{role:?}");
            assert_eq!(a.escalated, *escalated, "{role:?}");
        }
        assert_eq!(address(&[], AccusedRole::Ordinary), None);
    }

    #[test]
    fn a_key_person_report_never_lists_the_chosen_unit() {
        let county = chain(&["gd-gz-tianhe", "gd-gz", "gd"]);
        for role in [AccusedRole::PartySecretary, AccusedRole::OrgDeptHead] {
            let a = address(&county, role).unwrap();
            assert!(!a.recipients.contains(&county[0]));
        }
    }
}
