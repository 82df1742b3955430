//! The figures as tables for reporting up (向上级报送): by month, unit,
//! category and channel, each with the on-time and satisfaction rates, as
//! CSV sections (`/stats.csv?lang=zh`) and as an Excel workbook
//! (`/stats.xlsx`, Chinese headers, one sheet a breakdown).

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use sunlight_core::i18n::Lang;
use sunlight_core::stats::{Figures, Row};
use sunlight_core::{Category, Channel, Measure, UnitId};
use sunlight_store::UnitRow;

use crate::i18n;

/// A line: its label, a count per measure, then its rates (on time,
/// satisfaction, and the indicators of [`RATES`]).
type Line = (String, Vec<u64>, Vec<Option<f64>>);

/// The indicators every line carries after the on-time and satisfaction
/// rates, with their catalog keys.
const RATES: [&str; 5] = [
    "indicator.substantiated",
    "indicator.out_of_scope",
    "indicator.filed_for_reference",
    "indicator.knowingly_false",
    "indicator.reopened",
];

/// One breakdown: its name, its column headers, its lines, the total last.
pub(super) struct Table {
    pub name: String,
    pub headers: Vec<String>,
    pub lines: Vec<Line>,
}

fn line(label: String, row: &Row) -> Line {
    (
        label,
        Measure::ALL.iter().map(|m| row.get(*m).n).collect(),
        row.rates().to_vec(),
    )
}

/// The four breakdowns of `fig` in `lang`, each ending with the total.
pub(super) fn tables(lang: Lang, fig: &Figures, units: &[UnitRow]) -> Vec<Table> {
    let t = i18n::catalog(lang);
    let unit_name = |id: &UnitId| {
        units
            .iter()
            .find(|u| &u.id == id)
            .map_or_else(|| id.to_string(), |u| format!("{} ({id})", u.name))
    };
    let sections: Vec<(&str, Vec<(String, &Row)>)> = vec![
        (
            "month",
            fig.by_month
                .iter()
                .map(|(m, r)| (m.to_string(), r))
                .collect(),
        ),
        (
            "unit",
            fig.by_unit.iter().map(|(u, r)| (unit_name(u), r)).collect(),
        ),
        (
            "category",
            Category::ALL
                .iter()
                .filter_map(|c| {
                    Some((
                        i18n::word(lang, "category", c.as_str()),
                        fig.by_category.get(c)?,
                    ))
                })
                .collect(),
        ),
        (
            "channel",
            Channel::ALL
                .iter()
                .filter_map(|c| {
                    Some((
                        i18n::word(lang, "channel", c.as_str()),
                        fig.by_channel.get(c)?,
                    ))
                })
                .collect(),
        ),
    ];
    sections
        .into_iter()
        .map(|(key, rows)| {
            let mut headers = vec![t.get(&format!("stats.col_{key}")).to_owned()];
            headers.extend(
                Measure::ALL
                    .iter()
                    .map(|m| i18n::word(lang, "measure", m.as_str())),
            );
            headers.push(t.get("stats.on_time_rate").to_owned());
            headers.push(t.get("stats.satisfaction_rate").to_owned());
            headers.extend(RATES.iter().map(|k| t.get(k).to_owned()));
            let mut lines: Vec<_> = rows.into_iter().map(|(label, r)| line(label, r)).collect();
            lines.push(line(t.get("stats.total").to_owned(), &fig.total));
            Table {
                // Excel takes sheet names of at most 31 characters.
                name: t.get(&format!("stats.by_{key}")).chars().take(31).collect(),
                headers,
                lines,
            }
        })
        .collect()
}

/// A CSV field: quoted when it holds a separator, and never read as a
/// formula by a spreadsheet (a unit name starting with `=` stays text).
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(String::new, |r| format!("{r:.3}"))
}

/// The tables as CSV: each with its name on a line of its own, then its
/// header and lines, a blank line between tables.
pub(super) fn to_csv(tables: &[Table]) -> String {
    // A byte order mark: spreadsheet programs set to a Chinese locale read
    // a file without one as GBK and garble every header.
    let mut out = String::from('\u{feff}');
    for table in tables {
        out.push_str(&field(&table.name));
        out.push('\n');
        let header: Vec<String> = table.headers.iter().map(|h| field(h)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for (label, counts, rates) in &table.lines {
            let mut cells = vec![field(label)];
            cells.extend(counts.iter().map(u64::to_string));
            cells.extend(rates.iter().map(|r| rate(*r)));
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The tables as an Excel workbook, one sheet each; rates as percents.
pub(super) fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    for table in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(&table.name)?;
        for (col, h) in (0u16..).zip(&table.headers) {
            sheet.write_string_with_format(0, col, h, &bold)?;
        }
        for (row, (label, counts, rates)) in (1u32..).zip(&table.lines) {
            sheet.write_string(row, 0, label)?;
            for (col, n) in (1u16..).zip(counts) {
                sheet.write_number(row, col, *n as f64)?;
            }
            let first = u16::try_from(counts.len() + 1).unwrap_or(u16::MAX - 16);
            for (col, r) in (first..).zip(rates) {
                if let Some(r) = r {
                    sheet.write_number_with_format(row, col, *r, &percent)?;
                }
            }
        }
        sheet.set_column_width(0, 28)?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunlight_core::stats::Count;

    fn figures() -> Figures {
        let mut row = Row::default();
        row.0.insert(Measure::Received, Count { n: 7, on_time: 0 });
        row.0.insert(Measure::Rated, Count { n: 4, on_time: 0 });
        row.0.insert(Measure::Satisfied, Count { n: 3, on_time: 0 });
        let mut f = Figures::default();
        f.by_category.insert(Category::OfficeTrading, row.clone());
        f.by_channel.insert(Channel::Web, row.clone());
        f.by_unit
            .insert(UnitId::parse("gd-gz").unwrap(), row.clone());
        f.by_month.insert("2026-11".parse().unwrap(), row.clone());
        f.total = row;
        f
    }

    #[test]
    fn four_breakdowns_with_chinese_headers_rates_and_totals() {
        let tables = tables(Lang::ZhCn, &figures(), &[]);
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "按月份",
                "按单位（含其下级单位）",
                "按问题类别",
                "按举报渠道"
            ]
        );
        let csv = to_csv(&tables);
        assert!(csv.contains("月份,收到,分办"), "{csv}");
        assert!(csv.contains("满意率"), "{csv}");
        assert!(csv.contains("买官卖官,7,"), "{csv}");
        assert!(csv.contains("合计,7,"), "{csv}");
        assert!(csv.contains(",0.750,,,,,\n"), "3 of 4 satisfied: {csv}");
        let xlsx = to_xlsx(&tables).unwrap();
        assert!(xlsx.starts_with(b"PK\x03\x04"), "a zip, as .xlsx is");
    }

    #[test]
    fn no_label_is_read_as_a_formula_or_breaks_a_line() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("市委组织部, 干部科"), "\"市委组织部, 干部科\"");
        assert_eq!(field("天河区"), "天河区");
    }
}
