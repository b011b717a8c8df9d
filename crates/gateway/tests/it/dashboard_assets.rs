//! The embedded dashboard (`crates/gateway/dashboard/`, turned into a table by the build script): every ES module
//! import and every `index.html` reference resolves to an embedded asset, every module is reachable from
//! `main.js`, only `lib/api.js` spells `/api` paths, and the assets are served under nested paths with their types.

use crate::harness::Gw;
use gateway::http::dashboard::{ASSETS, INDEX, find};
use std::collections::{BTreeSet, HashMap};

fn text_assets() -> HashMap<&'static str, &'static str> {
    ASSETS
        .iter()
        .filter(|(path, _, _)| path.ends_with(".js") || path.ends_with(".css"))
        .map(|&(path, _, body)| (path, std::str::from_utf8(body).expect("UTF-8 text asset")))
        .collect()
}

/// The quoted string at the start of `s` (after blanks): `'x'` or `"x"`.
fn quoted(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &s[1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// The module specifiers of a script: `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`.
/// A dynamic import of anything but a string literal cannot be checked and is reported as `<dynamic: …>`.
fn specifiers(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in js.lines() {
        let l = line.trim_start();
        let statement = l.starts_with("import ") || l.starts_with("export ") || l.starts_with('}');
        if statement && let Some(at) = l.find(" from ") {
            if let Some(spec) = quoted(&l[at + " from ".len()..]) {
                out.push(spec.to_owned());
            }
        } else if let Some(rest) = l.strip_prefix("import ")
            && let Some(spec) = quoted(rest)
        {
            out.push(spec.to_owned());
        }
    }
    for (at, _) in js.match_indices("import(") {
        let rest = &js[at + "import(".len()..];
        match quoted(rest) {
            Some(spec) => out.push(spec.to_owned()),
            None => out.push(format!(
                "<dynamic: {}>",
                rest.chars().take(30).collect::<String>()
            )),
        }
    }
    out
}

/// `spec` as imported from the asset `from`, as a path under `/assets/` (`None`: a bare or outside specifier).
fn resolve(from: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = if let Some(abs) = spec.strip_prefix("/assets/") {
        return Some(abs.to_owned());
    } else if spec.starts_with("./") || spec.starts_with("../") {
        let mut dir: Vec<&str> = from.split('/').collect();
        dir.pop();
        dir
    } else {
        return None;
    };
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[test]
fn every_module_import_resolves_to_an_embedded_asset() {
    let assets = text_assets();
    assert!(assets.contains_key("main.js"), "main.js is embedded");
    let mut broken = Vec::new();
    let mut imports = 0;
    for (&path, &text) in assets.iter().filter(|(p, _)| p.ends_with(".js")) {
        for spec in specifiers(text) {
            imports += 1;
            match resolve(path, &spec) {
                Some(target) if find(&target).is_some() => {}
                _ => broken.push(format!("{path}: import {spec:?}")),
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports that resolve to no embedded asset:\n{}",
        broken.join("\n")
    );
    assert!(
        imports > 50,
        "only {imports} imports found: the scan is broken"
    );
}

#[test]
fn every_module_is_reachable_from_main_js() {
    let assets = text_assets();
    let mut seen = BTreeSet::from(["main.js".to_owned()]);
    let mut todo = vec!["main.js".to_owned()];
    while let Some(path) = todo.pop() {
        for spec in specifiers(assets[path.as_str()]) {
            if let Some(target) = resolve(&path, &spec)
                && assets.contains_key(target.as_str())
                && seen.insert(target.clone())
            {
                todo.push(target);
            }
        }
    }
    let orphans: Vec<_> = assets
        .keys()
        .filter(|p| p.ends_with(".js") && !seen.contains(**p))
        .collect();
    assert!(orphans.is_empty(), "modules nothing imports: {orphans:?}");
}

#[test]
fn index_html_references_exist_and_load_main_js_as_a_module() {
    let mut refs = Vec::new();
    for attr in ["src=", "href="] {
        for (at, _) in INDEX.match_indices(attr) {
            if let Some(value) = quoted(&INDEX[at + attr.len()..]) {
                refs.push(value);
            }
        }
    }
    let local: Vec<_> = refs.iter().filter(|r| !r.starts_with("data:")).collect();
    assert!(local.len() >= 3, "{refs:?}");
    for r in &local {
        let path = r
            .strip_prefix("/assets/")
            .unwrap_or_else(|| panic!("{r} is not under /assets/"));
        assert!(
            find(path).is_some(),
            "index.html references {r}, which is not embedded"
        );
    }
    assert!(INDEX.contains(r#"<script type="module" src="/assets/main.js"></script>"#));
    // The policy is `script-src 'self'`: no inline script, and every script is a module loaded by URL.
    assert_eq!(
        INDEX.matches("<script").count(),
        INDEX.matches("<script type=\"module\" src=").count()
    );
    let css: Vec<_> = local.iter().filter(|r| r.ends_with(".css")).collect();
    assert!(!css.is_empty(), "no stylesheet linked");
}

#[test]
fn only_lib_api_js_spells_api_paths() {
    for (&path, &text) in &text_assets() {
        if path == "lib/api.js" {
            continue;
        }
        for quote in ['\'', '"', '`'] {
            let needle = format!("{quote}/api");
            assert!(
                !text.contains(&needle),
                "{path} spells an /api path ({needle}…): use lib/api.js `paths`"
            );
        }
    }
}

#[test]
fn asset_table_types_and_path_rules() {
    for &(path, content_type, body) in ASSETS {
        assert!(!body.is_empty(), "{path} is empty");
        if path.ends_with(".js") {
            assert_eq!(content_type, "text/javascript; charset=utf-8", "{path}");
        }
        if path.ends_with(".css") {
            assert_eq!(content_type, "text/css; charset=utf-8", "{path}");
        }
        assert_eq!(find(path).map(|(ct, _)| ct), Some(content_type));
    }
    for bad in [
        "../Cargo.toml",
        "lib/../main.js",
        "./main.js",
        "/main.js",
        "lib//dom.js",
        "lib\\dom.js",
        "",
        "index.html",
    ] {
        assert!(find(bad).is_none(), "{bad:?} must not resolve");
    }
}

#[tokio::test]
async fn nested_assets_are_served_with_their_types_and_unknown_paths_are_404() {
    let (gw, _mock) = Gw::default().await;
    for (path, want) in [
        ("/assets/main.js", "text/javascript; charset=utf-8"),
        (
            "/assets/pages/channels.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/i18n/zh.js", "text/javascript; charset=utf-8"),
        ("/assets/css/tables.css", "text/css; charset=utf-8"),
    ] {
        let resp = gw.get_anon(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-type"], want, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        let body = resp.bytes().await.unwrap();
        assert_eq!(
            Some(&body[..]),
            find(path.trim_start_matches("/assets/")).map(|(_, b)| b),
            "{path}"
        );
    }
    let page = gw.get_anon("/").await;
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(page.text().await.unwrap(), INDEX);
    for path in [
        "/assets/nope.js",
        "/assets/pages/nope.js",
        "/assets/..%2fCargo.toml",
        "/assets/lib/..%2f..%2fbuild.rs",
        "/assets/index.html",
    ] {
        let resp = gw.get_anon(path).await;
        assert_eq!(resp.status(), 404, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unknown_url", "{path}: {body}");
    }
    gw.stop().await;
}
