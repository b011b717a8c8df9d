//! Database and Redis URLs as they may appear in logs and errors: the password (in the user-info part or a
//! `password=` query parameter) replaced by `***`, the rest kept so the operator still sees where it points.

/// `url` without its password.
pub fn url(url: &str) -> String {
    let mut out = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme && url[scheme + 3..at].contains(':') => {
            let user = url[scheme + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    };
    if let Some((base, query)) = out.split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{base}?{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn hides_the_password_only() {
        let cases = [
            (
                "postgres://tg:s3cr:et@db.internal:5432/tollgate",
                "postgres://tg:***@db.internal:5432/tollgate",
            ),
            (
                "postgres://db/tollgate?user=tg&password=s3cret&sslmode=require",
                "postgres://db/tollgate?user=tg&password=***&sslmode=require",
            ),
            ("sqlite://data/tollgate.db", "sqlite://data/tollgate.db"),
            ("redis://user@host:6379", "redis://user@host:6379"),
        ];
        for (given, shown) in cases {
            assert_eq!(super::url(given), shown, "{given}");
        }
    }
}
