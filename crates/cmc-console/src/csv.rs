//! CSV (RFC 4180) for the certificate export, with cells that a
//! spreadsheet would run as a formula defused.

/// Builds a CSV text row by row.
pub(crate) struct Writer {
    out: String,
}

fn cell(s: &str) -> String {
    // A cell starting with = + - @ (or a tab/CR) is a formula to
    // spreadsheets: a leading apostrophe keeps it text (OWASP, CSV
    // injection).
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

impl Writer {
    pub(crate) fn new(header: &[&str]) -> Self {
        let mut w = Self { out: String::new() };
        w.row(header);
        w
    }

    pub(crate) fn row(&mut self, cells: &[&str]) {
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        self.out.push_str(&line.join(","));
        self.out.push_str("\r\n");
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let mut w = Writer::new(&["a", "b"]);
        w.row(&["CN=x, O=\"y\"", "=HYPERLINK(\"evil\")"]);
        w.row(&["plain", "-1"]);
        let text = String::from_utf8(w.finish()).unwrap();
        assert_eq!(
            text,
            "a,b\r\n\"CN=x, O=\"\"y\"\"\",\"'=HYPERLINK(\"\"evil\"\")\"\r\nplain,'-1\r\n"
        );
    }
}
