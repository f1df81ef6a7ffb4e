//! What the search pages (certificates, audit log) share: the filters as
//! the form gave them, shown again in the form and carried in the page
//! links, the keyset cursor of those links, and an agent's CA rule.

use cmc_ca::types::{Cursor, Keyset};

use crate::form::{Form, encode};
use crate::{Ctx, Response};

/// A search form's non-blank fields, in the order the page lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Given(Vec<(&'static str, String)>);

impl Given {
    /// The fields of `names` the form gives.
    pub(crate) fn of(form: &Form, names: impl IntoIterator<Item = &'static str>) -> Self {
        Self(
            names
                .into_iter()
                .filter_map(|n| form.get(n).map(|v| (n, v.to_owned())))
                .collect(),
        )
    }

    /// The query string of the fields, plus `extra` (a cursor).
    pub(crate) fn link(&self, extra: Option<(&str, Cursor)>) -> String {
        let mut parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if let Some((k, c)) = extra {
            parts.push(format!("{k}={}", c.0));
        }
        parts.join("&")
    }

    /// The value of field `name` (empty when not given).
    pub(crate) fn value(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Keeps an agent's search inside the CAs its grants cover
    /// ([`super::confine_to_cas`]), the CA it fills in carried as the
    /// `ca` field.
    pub(crate) fn confine(
        &mut self,
        ctx: &Ctx<'_>,
        issuer: &mut Option<String>,
    ) -> Result<(), Response> {
        if super::confine_to_cas(ctx, issuer)? {
            self.0.push(("ca", issuer.clone().unwrap_or_default()));
        }
        Ok(())
    }
}

/// The page the links ask for: `older=ID` (the next page), `newer=ID`
/// (the previous one), or neither (the first).
pub(crate) fn keyset(form: &Form) -> Result<Keyset, String> {
    let cursor = |name: &str| {
        form.get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map(Cursor)
                    .map_err(|_| format!("the page link is damaged ({name}={v:?})"))
            })
            .transpose()
    };
    match (cursor("older")?, cursor("newer")?) {
        (Some(c), None) => Ok(Keyset::Older(c)),
        (None, Some(c)) => Ok(Keyset::Newer(c)),
        (None, None) => Ok(Keyset::First),
        (Some(_), Some(_)) => Err("the page link is damaged".to_owned()),
    }
}
