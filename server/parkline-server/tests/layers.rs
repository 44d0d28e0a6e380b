//! The server's layers, read from its source: `http/` and the other callers use services, services take
//! the `App`, the parts the `App` holds use no service, and no two modules import each other, directly
//! or round a longer loop. ARCHITECTURE.md draws the same picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The parts the `App` holds, and the modules under everything: none of them may import a service.
const PARTS: &[&str] = &[
    "app",
    "auth",
    "broker",
    "clock",
    "config",
    "error",
    "hub",
    "inside",
    "live",
    "mail",
    "outbound",
    "permit_book",
    "provider",
    "ratelimit",
];

/// Every top-level module of the crate and the top-level modules its files name with `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let module = |path: &Path| {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        first.trim_end_matches(".rs").to_owned()
    };
    let names: BTreeSet<String> = files.iter().map(|f| module(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module(file);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let deps = graph.entry(from.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name != from && names.contains(&name) {
                deps.insert(name);
            }
        }
    }
    graph
}

#[test]
fn no_service_imports_http_and_no_part_imports_a_service() {
    let graph = imports();
    assert!(graph.len() > 20, "read the crate's modules: {:?}", graph.keys());
    for (module, deps) in &graph {
        if module != "http" {
            assert!(!deps.contains("http"), "{module} imports the HTTP layer");
        }
        if PARTS.contains(&module.as_str()) {
            let services: Vec<_> = deps.iter().filter(|d| !PARTS.contains(&d.as_str())).collect();
            assert!(services.is_empty(), "{module} (a part of the App) imports {services:?}");
        }
    }
    assert!(graph.values().all(|deps| !deps.contains("setup")), "only lib and main build the App");
}

#[test]
fn modules_import_each_other_without_cycles() {
    let graph = imports();
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for d in graph.get(m).into_iter().flatten() {
            visit(d, graph, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
}
