//! CSV for spreadsheets (RFC 4180, CRLF line ends). A value a spreadsheet
//! would read as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return
//! first) gets a leading `'`, so a username like `=HYPERLINK(…)` is shown as
//! text and never run.

/// One field, quoted when it holds a comma, a quote or a line break.
pub fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// One line, with its CRLF.
pub fn line<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = values.into_iter().map(field).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(line(["a", "", "c"]), "a,,c\r\n");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(field("=1+1"), "'=1+1");
        assert_eq!(field("+SUM(A1)"), "'+SUM(A1)");
        assert_eq!(field("-2"), "'-2");
        assert_eq!(field("@cmd"), "'@cmd");
        assert_eq!(
            field("=HYPERLINK(\"x\",\"y\")"),
            "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""
        );
    }
}
