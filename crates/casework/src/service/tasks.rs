//! Open tasks (受理告知, 复查) of a member's units, for their lists.

use super::*;

/// An open task with the number of its case.
#[derive(Debug, Clone)]
pub struct OpenTask {
    pub task: sunlight_store::TaskRow,
    pub number: Option<sunlight_core::CaseNumber>,
}

impl Triage {
    /// Open tasks of the member's units, the earliest deadline first (at
    /// most `sunlight_store::TASK_LIST_MAX`).
    pub async fn open_tasks(&self, session: &Session) -> Result<Vec<OpenTask>, CaseworkError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let tasks = self.store.open_tasks(&session.jurisdiction).await?;
        let ids: Vec<CaseId> = tasks.iter().map(|t| t.case_id).collect();
        let numbers = self.store.case_numbers(&ids).await?;
        Ok(tasks
            .into_iter()
            .map(|task| OpenTask {
                number: numbers.get(&task.case_id).cloned(),
                task,
            })
            .collect())
    }
}
