//! Plain aligned text tables for terminal output.
//!
//! Columns are padded to their widest cell and separated by two spaces; the last column is not padded, so lines carry no trailing blanks.
//! There is no wrapping or colour: output is meant to be read in a terminal and grepped alike.

/// Renders `rows` (the first one being the header, if any) with every line starting with `indent`.
pub(crate) fn render(rows: &[Vec<String>], indent: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            widths[column] = widths[column].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[column] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    fn check(rows: &[&[&str]], expect: Expect) {
        let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        expect.assert_eq(&super::render(&rows, "| "));
    }

    #[test]
    fn aligns_columns() {
        check(
            &[&["code", "severity", "message"], &["DTDL0001", "error", "bad"], &["D2", "warning", ""]],
            expect![[r#"
                | code      severity  message
                | DTDL0001  error     bad
                | D2        warning
            "#]],
        );
    }
}
