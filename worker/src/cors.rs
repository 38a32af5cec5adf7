//! CORS: allowed origins come from the `ALLOWED_ORIGINS` var (`*`, or a comma-separated list).

use std::borrow::Cow;

/// Response headers as `(name, value)` pairs, set on the response in one pass.
pub type HeaderList = Vec<(&'static str, Cow<'static, str>)>;

/// The origins this deployment allows.
pub struct Policy {
    any: bool,
    origins: Vec<String>,
}

impl Policy {
    /// Parses `*` or a comma-separated origin list (trailing slashes ignored).
    pub fn parse(raw: &str) -> Self {
        let origins: Vec<String> = raw
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Self { any: origins.iter().any(|o| o == "*"), origins }
    }

    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    pub fn allow(&self, origin: Option<&str>) -> Option<Cow<'static, str>> {
        let origin = origin?;
        if self.any {
            Some(Cow::Borrowed("*"))
        } else if self.origins.iter().any(|o| o == origin) {
            Some(Cow::Owned(origin.to_owned()))
        } else {
            None
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn apply(&self, headers: &mut HeaderList, origin: Option<&str>) {
        if !self.any {
            headers.push(("vary", Cow::Borrowed("Origin")));
        }
        if let Some(allowed) = self.allow(origin) {
            headers.push(("access-control-allow-origin", allowed.clone()));
            headers.push((
                "access-control-expose-headers",
                Cow::Borrowed("Server-Timing, X-Model-Version, X-Next-Cursor"),
            ));
            headers.push(("timing-allow-origin", allowed));
        }
    }

    /// Adds the headers of a preflight answer for a route whose `Allow` list is `allow`.
    pub fn apply_preflight(&self, headers: &mut HeaderList, origin: Option<&str>, allow: &'static str) {
        self.apply(headers, origin);
        headers.push(("access-control-allow-methods", Cow::Borrowed(allow)));
        headers.push(("access-control-allow-headers", Cow::Borrowed("Content-Type, Authorization")));
        headers.push(("access-control-max-age", Cow::Borrowed("86400")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &HeaderList) -> Vec<&str> {
        h.iter().map(|(n, _)| *n).collect()
    }

    #[test]
    fn any_origin_answers_star_without_vary() {
        let p = Policy::parse("*");
        let mut h = HeaderList::new();
        p.apply(&mut h, Some("https://shop.example"));
        assert_eq!(
            names(&h),
            ["access-control-allow-origin", "access-control-expose-headers", "timing-allow-origin"]
        );
        assert_eq!(h[0].1, "*");
        let mut none = HeaderList::new();
        p.apply(&mut none, None);
        assert!(none.is_empty(), "no Origin, no CORS headers");
    }

    #[test]
    fn an_origin_list_echoes_allowed_origins_only() {
        let p = Policy::parse(" https://a.example/, https://b.example ,");
        assert_eq!(p.allow(Some("https://a.example")).as_deref(), Some("https://a.example"));
        assert_eq!(p.allow(Some("https://b.example")).as_deref(), Some("https://b.example"));
        assert_eq!(p.allow(Some("https://evil.example")), None);
        let mut h = HeaderList::new();
        p.apply(&mut h, Some("https://evil.example"));
        assert_eq!(names(&h), ["vary"]);
    }
}
