//! The module graph of the gateway crate stays acyclic: following `crate::…` paths (and `use crate::{…}` groups)
//! between the top-level modules of `crates/gateway/src`, no two modules may reach each other. A cycle names every
//! edge inside it and the files that make it, so the fix is obvious. Comments are skipped; test code counts.
//!
//! The intended layers, bottom to top (docs/decisions/0012-module-layers.md): `error`, `http`, `config`,
//! `observe`, `catalog`, `import` → `auth`, `billing` → `state` → `routing`, `streaming` → `relay` → `midjourney`,
//! `admin` → `account`, `openapi` → `startup`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/gateway/src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules: each `src/<name>.rs` and `src/<name>/` except the crate roots.
fn top_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .expect("read src")
        .filter_map(|e| {
            let path = e.expect("dir entry").path();
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.is_dir() || path.extension().is_some_and(|x| x == "rs")).then_some(name)
        })
        .filter(|n| n != "lib" && n != "main")
        .collect()
}

/// The top-level modules a source text names through `crate::`.
fn named_modules(text: &str, tops: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                // Only the first segment of each item in the group: `{auth::key, state::AppState}`.
                group.split(',').map(|item| item.trim()).collect()
            }
            None => vec![rest],
        };
        for name in names {
            let head: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if tops.contains(&head) {
                found.insert(head);
            }
        }
    }
    found
}

type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

/// module → (module it names → files naming it).
fn module_graph() -> Graph {
    let src = src_dir();
    let tops = top_modules(&src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: Graph = tops.iter().map(|t| (t.clone(), BTreeMap::new())).collect();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let owner = Path::new(first.as_os_str())
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(edges) = graph.get_mut(&owner) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for target in named_modules(&text, &tops) {
            if target != owner {
                edges
                    .entry(target)
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    graph
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct Walk<'g> {
        graph: &'g Graph,
        next: usize,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g str) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            for w in self.graph[v].keys() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = BTreeSet::new();
                while let Some(w) = self.stack.pop() {
                    component.insert(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        next: 0,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = module_graph();
    assert!(graph.len() > 10, "found only {:?}", graph.keys());
    let mut report = String::new();
    for component in cycles(&graph) {
        report.push_str(&format!("cycle between {component:?}:\n"));
        for from in &component {
            for (to, files) in &graph[from] {
                if component.contains(to) {
                    report.push_str(&format!("  {from} -> {to}  ({files:?})\n"));
                }
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_check_sees_a_cycle() {
    // The checker itself: a two-module loop and a grouped import are found.
    let tops: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(
        named_modules("use crate::{b::X, c};\n// crate::a\n", &tops),
        ["b", "c"].iter().map(|s| s.to_string()).collect()
    );
    let mut graph: Graph = BTreeMap::new();
    let edge = |to: &str| BTreeMap::from([(to.to_owned(), BTreeSet::from(["f.rs".to_owned()]))]);
    graph.insert("a".into(), edge("b"));
    graph.insert("b".into(), edge("a"));
    graph.insert("c".into(), edge("a"));
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], BTreeSet::from(["a".to_owned(), "b".to_owned()]));
}
