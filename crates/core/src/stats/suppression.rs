//! Small-cell suppression for published tables: no count below the minimum, and no hidden count that a published total (or another table's total) gives back by subtraction.

use super::bulletin::Shown;

/// Suppresses one group of numbers that add up to a published total: each
/// below the minimum, and then, if exactly one was, the smallest other one
/// too, so that no hidden value is the total minus the shown ones.
pub(super) fn suppress_group(values: &[u64], min: u64, total_shown: bool) -> Vec<Shown> {
    let mut hidden: Vec<bool> = values.iter().map(|v| *v < min).collect();
    if total_shown {
        partner(values, &mut hidden);
    }
    reveal(values, &hidden)
}

pub(super) fn shown(n: u64, min: u64) -> Shown {
    if n < min {
        Shown::Suppressed
    } else {
        Shown::Count(n)
    }
}

/// The values with the hidden ones suppressed.
pub(super) fn reveal(values: &[u64], hidden: &[bool]) -> Vec<Shown> {
    values
        .iter()
        .zip(hidden)
        .map(|(v, h)| {
            if *h {
                Shown::Suppressed
            } else {
                Shown::Count(*v)
            }
        })
        .collect()
}

/// If exactly one value of a group is hidden, hides the smallest shown
/// other one as well. Returns whether it hid anything.
fn partner(values: &[u64], hidden: &mut [bool]) -> bool {
    if hidden.iter().filter(|h| **h).count() != 1 {
        return false;
    }
    let smallest = values
        .iter()
        .zip(hidden.iter())
        .enumerate()
        .filter(|(_, (_, h))| !**h)
        .min_by_key(|(_, (v, _))| **v)
        .map(|(i, _)| i);
    match smallest.and_then(|i| hidden.get_mut(i)) {
        Some(slot) => {
            *slot = true;
            true
        }
        None => false,
    }
}

/// The hidden cells of a table (rows of equal length) whose every row total
/// is known and whose listed columns' totals are too (published elsewhere,
/// or derivable from another table): each row gets the group rule, then
/// each listed column, and again, until no row and no listed column hides
/// exactly one cell. A row whose own total is hidden (`hidden_rows`) is
/// hidden whole, since its shown cells would add up to that total.
pub(super) fn hide_table(
    values: &[Vec<u64>],
    min: u64,
    hidden_rows: &[bool],
    columns: &[usize],
) -> Vec<Vec<bool>> {
    let mut hidden: Vec<Vec<bool>> = values
        .iter()
        .zip(hidden_rows)
        .map(|(row, whole)| row.iter().map(|v| *whole || *v < min).collect())
        .collect();
    // Each pass only hides, so this ends within one pass per cell.
    loop {
        let mut changed = false;
        for (row, flags) in values.iter().zip(hidden.iter_mut()) {
            changed |= partner(row, flags);
        }
        for &c in columns {
            let column: Vec<u64> = values
                .iter()
                .map(|r| r.get(c).copied().unwrap_or(0))
                .collect();
            let mut flags: Vec<bool> = hidden
                .iter()
                .map(|r| r.get(c).copied().unwrap_or(true))
                .collect();
            if partner(&column, &mut flags) {
                changed = true;
                for (row, flag) in hidden.iter_mut().zip(flags) {
                    if let Some(slot) = row.get_mut(c) {
                        *slot = flag;
                    }
                }
            }
        }
        if !changed {
            return hidden;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_hidden_cell_gets_the_smallest_shown_partner() {
        let got = suppress_group(&[3, 9, 7], 5, true);
        assert_eq!(got, [Shown::Suppressed, Shown::Count(9), Shown::Suppressed]);
        // Without a shown total the small cell hides alone.
        let got = suppress_group(&[3, 9, 7], 5, false);
        assert_eq!(got, [Shown::Suppressed, Shown::Count(9), Shown::Count(7)]);
    }

    #[test]
    fn a_table_hides_no_lone_cell_in_a_row_or_a_listed_column() {
        // Column 0's total is known elsewhere: its one small cell (row 1)
        // needs a partner in the column, whose row then needs one too.
        let values = vec![vec![8, 6, 9], vec![2, 2, 12], vec![10, 7, 6]];
        let hidden = hide_table(&values, 5, &[false, false, false], &[0]);
        for row in &hidden {
            assert_ne!(row.iter().filter(|h| **h).count(), 1, "{hidden:?}");
        }
        assert_ne!(hidden.iter().filter(|r| r[0]).count(), 1, "{hidden:?}");
        assert!(hidden[1][0] && hidden[1][1]);
        // A row whose total is hidden is hidden whole.
        let hidden = hide_table(&values, 5, &[false, true, false], &[]);
        assert_eq!(hidden[1], [true, true, true]);
        assert_eq!(hidden[0], [false, false, false]);
    }
}
