//! CSV sequences: one sample per row, numeric values and one label column (chosen by header name,
//! else the last), as spreadsheets and pandas write them.
//!
//! A file is the training data (validation and test are carved out of it); a folder holding
//! `train.csv` and `test.csv` gives both splits. Every problem names the file, the line and the
//! column: a missing value, a word where a number belongs, a row with more or fewer cells than
//! the header. Sizes are checked before the values are allocated.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::budget::{check_dataset_size, memory_limit_bytes};
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::files::open_regular;
use super::options::DataOptions;

/// More distinct labels than this means the label column is probably a value column.
pub const MAX_CLASSES: usize = 1000;
/// What to change when a CSV would not fit in memory.
const TOO_LARGE_FIX: &str = "use a smaller CSV file (fewer rows or columns)";

/// One CSV file, parsed: values row by row, the label text and line of each row.
#[derive(Debug, Default)]
struct Table {
    /// Values per row (every column but the label).
    columns: usize,
    values: Vec<f32>,
    labels: Vec<String>,
    /// 1-based line of each row, for errors found after parsing.
    lines: Vec<usize>,
}

/// The cells of one CSV line: commas separate, double quotes protect commas (`""` is a quote).
fn cells(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    if quoted {
        return Err("a quoted cell is not closed (a \" without its closing \")");
    }
    out.push(cell);
    Ok(out.into_iter().map(|c| c.trim().to_string()).collect())
}

fn is_number(cell: &str) -> bool {
    cell.parse::<f32>().is_ok()
}

/// Reads `path` as a table with the label in column `label` (a header name) or the last column.
fn read_table(path: &Path, label: Option<&str>) -> Result<Table, DataError> {
    let (file, len) = open_regular(path)?;
    // The text itself must fit before it is read; the values are checked once rows are counted.
    if len > memory_limit_bytes() {
        check_dataset_size(len / 4, (1, 1, 1), TOO_LARGE_FIX)?;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 30));
    file.take(len.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: "it is not UTF-8 text; a CSV file of sequences must be plain text (save it as \"CSV UTF-8\")"
                .into(),
        });
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let err = |line: usize, column: Option<String>, problem: String, fix: &str| DataError::Table {
        path: path.to_path_buf(),
        line,
        column,
        problem,
        fix: fix.to_string(),
    };
    let mut rows = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_line, first)) = rows.next() else {
        return Err(err(
            1,
            None,
            "the file is empty".into(),
            "put one sample per row: its values separated by commas, then its label",
        ));
    };
    let first_cells = cells(first).map_err(|p| err(first_line, None, p.into(), "close the quote"))?;
    let ncols = first_cells.len();
    if ncols < 2 {
        let fix = if first.contains(';') || first.contains('\t') {
            "separate the cells with commas, not semicolons or tabs"
        } else {
            "put one sample per row: its values separated by commas, then its label"
        };
        return Err(err(first_line, None, "the row has one cell only".into(), fix));
    }
    // A header is a first row with a word among the values (every cell but the last, which may
    // be a label such as "cat"), or any first row when the label column is chosen by name.
    let has_header = label.is_some() || first_cells[..ncols - 1].iter().any(|c| !is_number(c));
    let header: Option<Vec<String>> = has_header.then(|| first_cells.clone());
    let label_index = match (label, &header) {
        (Some(name), Some(names)) => names.iter().position(|n| n == name).ok_or_else(|| {
            err(
                first_line,
                None,
                format!("the header has no column \"{name}\" (it has {})", list_names(names)),
                "name the label column as the header writes it, after a # (data.csv#label)",
            )
        })?,
        _ => ncols - 1,
    };
    let column_name = |i: usize| match &header {
        Some(names) => format!("\"{}\"", names[i]),
        None => (i + 1).to_string(),
    };
    let data_rows = text.lines().count().saturating_sub(usize::from(has_header));
    check_dataset_size(data_rows as u64, (1, 1, ncols - 1), TOO_LARGE_FIX)?;
    let mut table = Table {
        columns: ncols - 1,
        values: Vec::with_capacity(data_rows * (ncols - 1)),
        ..Table::default()
    };
    let first_data = (!has_header).then_some((first_line, first));
    for (line, row) in first_data.into_iter().chain(rows) {
        let row = cells(row).map_err(|p| err(line, None, p.into(), "close the quote"))?;
        if row.len() != ncols {
            let against = if has_header { "the header" } else { "the first row" };
            return Err(err(
                line,
                None,
                format!(
                    "the row has {} cells, {against} (line {first_line}) has {ncols}",
                    row.len()
                ),
                "give every row the same columns (a missing value is an error too: fill it in or remove the row)",
            ));
        }
        for (i, cell) in row.iter().enumerate() {
            if i == label_index {
                if cell.is_empty() {
                    return Err(err(
                        line,
                        Some(column_name(i)),
                        "the label is empty".into(),
                        "give every row its class",
                    ));
                }
                continue;
            }
            let value = match cell.parse::<f32>() {
                _ if cell.is_empty() => {
                    return Err(err(
                        line,
                        Some(column_name(i)),
                        "the cell is empty (a missing value)".into(),
                        "fill it in (e.g. with the value before it) or remove the row",
                    ));
                }
                Ok(v) if v.is_finite() => v,
                Ok(_) => {
                    return Err(err(
                        line,
                        Some(column_name(i)),
                        format!("\"{cell}\" is not a finite number"),
                        "replace it with a real value or remove the row",
                    ));
                }
                Err(_) => {
                    return Err(err(
                        line,
                        Some(column_name(i)),
                        format!("\"{}\" is not a number", shorten(cell)),
                        "use digits with a point as the decimal mark (0.25), or choose the label column by name (data.csv#label)",
                    ));
                }
            };
            table.values.push(value);
        }
        table.labels.push(row[label_index].clone());
        table.lines.push(line);
    }
    if table.labels.is_empty() {
        return Err(err(
            first_line + 1,
            None,
            "the file has a header but no data rows".into(),
            "add one row per sample below the header",
        ));
    }
    Ok(table)
}

/// `"a", "b", "c"`, or for a long header its first and last names (the label is often last).
fn list_names(names: &[String]) -> String {
    let quote = |n: &[String]| n.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
    if names.len() <= 6 {
        quote(names)
    } else {
        let (head, tail) = (&names[..3], &names[names.len() - 2..]);
        format!("{}, … ({} more), {}", quote(head), names.len() - 5, quote(tail))
    }
}

/// At most 40 characters of a cell, for messages.
fn shorten(cell: &str) -> String {
    if cell.chars().count() > 40 {
        cell.chars().take(40).collect::<String>() + "…"
    } else {
        cell.to_string()
    }
}

/// Class names of `labels`, sorted as numbers when they all are, else as text.
fn class_names(labels: &[String]) -> Vec<String> {
    let mut names: Vec<String> = labels.to_vec();
    names.sort_unstable();
    names.dedup();
    if names.iter().all(|n| n.parse::<f64>().is_ok()) {
        names.sort_by(|a, b| {
            let (x, y) = (a.parse::<f64>().unwrap_or(0.0), b.parse::<f64>().unwrap_or(0.0));
            x.total_cmp(&y)
        });
    }
    names
}

/// The split of `table` labelled by `names`; a label not among them is an error on its line.
fn to_split(table: Table, names: &[String], path: &Path, train: &Path) -> Result<Split, DataError> {
    let index_of: HashMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
    let mut labels = Vec::with_capacity(table.labels.len());
    for (label, &line) in table.labels.iter().zip(&table.lines) {
        let Some(&index) = index_of.get(label.as_str()) else {
            return Err(DataError::Table {
                path: path.to_path_buf(),
                line,
                column: None,
                problem: format!("the label \"{}\" does not occur in {}", shorten(label), train.display()),
                fix: "test rows may only use classes the training file has".into(),
            });
        };
        labels.push(index);
    }
    Ok(Split {
        values: table.values,
        labels,
        ..Split::default()
    })
}

/// The training and optional test file of a CSV dataset at `path` (a file, or a folder with
/// `train.csv` and maybe `test.csv`).
pub fn csv_files(path: &Path) -> Option<(PathBuf, Option<PathBuf>)> {
    if path.is_file() {
        return Some((path.to_path_buf(), None));
    }
    let train = path.join("train.csv");
    let test = path.join("test.csv");
    train.is_file().then(|| (train, test.is_file().then_some(test)))
}

/// Loads a CSV dataset (see the module doc). `want`'s channels split each row into that many
/// channels of equal length (stored channel by channel in the row); otherwise a row is one
/// channel, as many steps as it has values.
pub fn load_csv(path: &Path, options: &DataOptions, want: Option<(usize, usize, usize)>) -> Result<Dataset, DataError> {
    let (train_path, test_path) = csv_files(path).ok_or_else(|| DataError::UnknownFormat {
        path: path.to_path_buf(),
        reason: "it is neither a .csv file nor a folder holding train.csv".into(),
    })?;
    let label = options.label_column.as_deref();
    let train = read_table(&train_path, label)?;
    let names = class_names(&train.labels);
    if names.len() > MAX_CLASSES {
        return Err(DataError::Table {
            path: train_path.clone(),
            line: 1,
            column: None,
            problem: format!("the label column holds {} different values", names.len()),
            fix: format!(
                "a classifier needs at most {MAX_CLASSES} classes: choose the label column by name (data.csv#label)"
            ),
        });
    }
    let columns = train.columns;
    let test = match &test_path {
        Some(p) => {
            let table = read_table(p, label)?;
            if table.columns != columns {
                return Err(DataError::ShapeMismatch {
                    path: path.to_path_buf(),
                    train: format!("{columns} values a row"),
                    test: format!("{} values a row", table.columns),
                });
            }
            Some(to_split(table, &names, p, &train_path)?)
        }
        None => None,
    };
    let train = to_split(train, &names, &train_path, &train_path)?;
    let channels = match want {
        Some((c, _, _)) if c > 1 && columns % c == 0 => c,
        _ => 1,
    };
    let name = path
        .file_stem()
        .map_or_else(|| "csv".to_string(), |n| n.to_string_lossy().into_owned());
    let ds = Dataset {
        name,
        class_names: names,
        channels,
        height: 1,
        width: columns / channels,
        kind: SampleKind::Signal,
        train,
        test,
        warnings: Vec::new(),
    };
    ds.validate(path)?;
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::TempDir;
    use super::*;
    use std::fs;

    fn load(text: &str, label: Option<&str>) -> Result<Dataset, DataError> {
        let d = TempDir::new("csv");
        let p = d.path().join("data.csv");
        fs::write(&p, text).unwrap();
        let options = DataOptions {
            label_column: label.map(String::from),
            ..DataOptions::default()
        };
        load_csv(&p, &options, None)
    }

    #[test]
    fn rows_become_sequences_with_named_classes() {
        let ds = load("a,b,c,kind\n1,2,3,up\n\"4\",5,6,down\r\n\n7,8,9,up\n", None).unwrap();
        assert_eq!(ds.class_names, ["down", "up"]);
        assert_eq!(ds.train.labels, [1, 0, 1]);
        assert_eq!(ds.train.values, [1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        assert_eq!(ds.sample_shape(), crate::cnn::Shape::sequence(3, 1));
        // No header, numeric labels sorted as numbers; label chosen by name.
        let ds = load("0.5,1,10\n0.25,2,9\n1,3,10\n", None).unwrap();
        assert_eq!(ds.class_names, ["9", "10"]);
        let ds = load("kind,x,y\nup,1,2\ndown,3,4\n", Some("kind")).unwrap();
        assert_eq!(ds.train.values, [1., 2., 3., 4.]);
        assert_eq!(ds.train.labels, [1, 0]);
    }

    #[test]
    fn problems_name_the_line_and_column() {
        let shown = |text: &str, label: Option<&str>| load(text, label).unwrap_err().to_string();
        let s = shown("a,b,label\n1,2,x\n3,,y\n", None);
        assert!(s.contains("data.csv line 3, column \"b\": the cell is empty"), "{s}");
        let s = shown("a,b,label\n1,2,x\n3,4,5,y\n", None);
        assert!(
            s.contains("line 3: the row has 4 cells, the header (line 1) has 3"),
            "{s}"
        );
        let s = shown("a,b,label\n1,two,x\n", None);
        assert!(s.contains("line 2, column \"b\": \"two\" is not a number"), "{s}");
        let s = shown("1,2,x\n1,inf,y\n", None);
        assert!(s.contains("line 2, column 2: \"inf\" is not a finite number"), "{s}");
        let s = shown("a,b,label\n1,2,x\n", Some("class"));
        assert!(s.contains("no column \"class\"") && s.contains("\"label\""), "{s}");
        let s = shown("a;b;label\n1;2;x\n", None);
        assert!(s.contains("not semicolons"), "{s}");
        let s = shown("a,b,label\n", None);
        assert!(s.contains("no data rows"), "{s}");
        let s = shown("a,b,label\n1,\"2,x\n", None);
        assert!(s.contains("line 2") && s.contains("not closed"), "{s}");
        let s = shown("", None);
        assert!(s.contains("empty"), "{s}");
        assert!(
            load("1,2,\n", None)
                .unwrap_err()
                .to_string()
                .contains("the label is empty")
        );
        let many: String = (0..1200).map(|i| format!("{i},{i}\n")).collect();
        assert!(shown(&many, None).contains("1200 different values"));
    }

    #[test]
    fn mangled_files_give_errors_not_panics() {
        let good = "t0,t1,t2,label\n0.5,1,2,up\n\"3\",4e1,-5,down\n6,7,8,up\n".as_bytes();
        let pieces: [&[u8]; 8] = [b",", b"\"", b"\n", b"", b"x", b"\xff", b"1e99999", b"\r\n"];
        let mut rng = crate::data::DataRng::new(15);
        for _ in 0..400 {
            let mut bytes = good.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                let cut = rng.below(3).min(bytes.len() - at.min(bytes.len()));
                let piece = pieces[rng.below(pieces.len())];
                bytes.splice(at..at + cut, piece.iter().copied());
            }
            let d = TempDir::new("csv-mangled");
            let p = d.path().join("m.csv");
            fs::write(&p, &bytes).unwrap();
            // Whatever the bytes, a dataset that validates or an error that names the file.
            match load_csv(&p, &DataOptions::default(), None) {
                Ok(ds) => assert!(ds.validate(&p).is_ok()),
                Err(e) => assert!(e.to_string().contains("m.csv"), "{e}"),
            }
        }
    }

    #[test]
    fn a_folder_gives_train_and_test_and_test_labels_must_be_known() {
        let d = TempDir::new("csvdir");
        fs::write(d.path().join("train.csv"), "x,y,label\n1,2,a\n3,4,b\n").unwrap();
        fs::write(d.path().join("test.csv"), "x,y,label\n5,6,b\n").unwrap();
        let ds = load_csv(d.path(), &DataOptions::default(), Some((2, 1, 1))).unwrap();
        assert_eq!(ds.test.as_ref().map(|t| t.labels.clone()), Some(vec![1]));
        assert_eq!(ds.sample_shape(), crate::cnn::Shape::sequence(1, 2));
        fs::write(d.path().join("test.csv"), "x,y,label\n5,6,b\n7,8,c\n").unwrap();
        let s = load_csv(d.path(), &DataOptions::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            s.contains("test.csv line 3") && s.contains("\"c\" does not occur"),
            "{s}"
        );
        fs::write(d.path().join("test.csv"), "x,label\n5,b\n").unwrap();
        assert!(matches!(
            load_csv(d.path(), &DataOptions::default(), None),
            Err(DataError::ShapeMismatch { .. })
        ));
    }
}
