//! What comes in: `application/x-www-form-urlencoded` bodies and query
//! strings, and the Cookie header.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// The fields of a form or query string. A repeated field keeps its first
/// value ([`Form::all`] has every one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a
/// space, then percent-decoding; `None` when the result is not UTF-8.
fn decode(part: &str) -> Option<String> {
    let spaced = part.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

impl Form {
    /// Parses `text`; a component that is not UTF-8 once decoded is
    /// dropped.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let pairs = text
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                Some((decode(k)?, decode(v)?))
            })
            .collect();
        Self { pairs }
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name` untrimmed (passwords), `""` when absent.
    #[must_use]
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The cookies of a Cookie header, by name (the first of a repeated name).
#[must_use]
pub fn cookies(header: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for part in header.unwrap_or("").split(';') {
        if let Some((k, v)) = part.trim().split_once('=') {
            out.entry(k.trim().to_owned())
                .or_insert_with(|| v.trim().to_owned());
        }
    }
    out
}

/// `s` percent-encoded for a query string value.
#[must_use]
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The names of a form field that takes several: one a line, or separated
/// by commas or spaces.
pub(crate) fn names(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_percent_and_repeats() {
        let f = Form::parse("a=1&b=x+y%2Bz&c=&a=2&d&%ZZ=3&e=%C3%A9&bad=%FF");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.all("a").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.get("b"), Some("x y+z"));
        assert_eq!(f.get("c"), None);
        assert_eq!(f.get("d"), None);
        assert_eq!(f.get("e"), Some("é"));
        assert_eq!(f.get("bad"), None, "not UTF-8");
        assert_eq!(f.raw("missing"), "");
        assert_eq!(Form::parse("p=+x+").raw("p"), " x ");
    }

    #[test]
    fn cookie_headers_split() {
        let c = cookies(Some("a=1; b = 2;c=3=4; a=9"));
        assert_eq!(c["a"], "1");
        assert_eq!(c["b"], "2");
        assert_eq!(c["c"], "3=4");
        assert!(cookies(None).is_empty());
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
