//! Tests that keep the map of the code true, as rust-analyzer's `xtask tidy` does: the crate
//! graph in docs/architecture.md is the manifests', no dependency goes unused, and no crate's
//! top-level modules import one another in a circle. `cargo test -p xtask` (part of `cargo
//! xtask test`) runs them; a failure says what to change, and for the graph prints the section
//! to paste.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A workspace crate: its name, directory and `[dependencies]` (names as the manifest writes
/// them).
#[derive(Debug)]
pub struct Crate {
    /// The package name.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its normal dependencies.
    pub dependencies: Vec<String>,
}

/// The crates under `crates/`, `tests/` and `xtask/`.
pub fn workspace_crates(root: &Path) -> Vec<Crate> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.extend([root.join("tests"), root.join("xtask")]);
    dirs.sort();
    dirs.into_iter()
        .filter_map(|dir| {
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let manifest: toml::Table = toml::from_str(&text).expect("a manifest parses");
            let name = manifest["package"]["name"].as_str()?.to_string();
            let dependencies = manifest
                .get("dependencies")
                .and_then(|d| d.as_table())
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            Some(Crate {
                name,
                dir,
                dependencies,
            })
        })
        .collect()
}

/// Each library crate of the workspace and the workspace crates it depends on.
pub fn crate_graph(crates: &[Crate]) -> BTreeMap<String, BTreeSet<String>> {
    let ours: BTreeSet<&str> = crates.iter().map(|c| c.name.as_str()).collect();
    crates
        .iter()
        .filter(|c| c.name.starts_with("jeat-") && c.dir.join("src").is_dir())
        .map(|c| {
            let deps = c
                .dependencies
                .iter()
                .filter(|d| ours.contains(d.as_str()))
                .cloned()
                .collect();
            (c.name.clone(), deps)
        })
        .collect()
}

/// The graph as docs/architecture.md shows it: layers (each crate one above its highest
/// dependency), then every crate with its dependencies.
pub fn graph_section(graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    while layer.len() < graph.len() {
        for (name, deps) in graph {
            if layer.contains_key(name.as_str()) {
                continue;
            }
            if deps.iter().all(|d| layer.contains_key(d.as_str())) {
                let level = deps
                    .iter()
                    .map(|d| layer[d.as_str()] + 1)
                    .max()
                    .unwrap_or(0);
                layer.insert(name, level);
            }
        }
    }
    let top = layer.values().copied().max().unwrap_or(0);
    let mut text = String::from("Layers (a crate depends only on crates of layers below it):\n\n");
    for level in 0..=top {
        let names: Vec<String> = layer
            .iter()
            .filter(|(_, l)| **l == level)
            .map(|(n, _)| format!("`{n}`"))
            .collect();
        text.push_str(&format!("{level}. {}\n", names.join(", ")));
    }
    text.push_str("\n| crate | depends on |\n|---|---|\n");
    for (name, deps) in graph {
        let deps: Vec<String> = deps.iter().map(|d| format!("`{d}`")).collect();
        let deps = match deps.is_empty() {
            true => "–".to_string(),
            false => deps.join(", "),
        };
        text.push_str(&format!("| `{name}` | {deps} |\n"));
    }
    text
}

/// The marker lines around the generated section of docs/architecture.md.
pub const BEGIN: &str = "<!-- crate graph: from the manifests, checked by xtask's tidy tests -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- end of the crate graph -->";

/// The Rust files of a crate (its `src/`, and `build.rs`).
fn sources(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("src"), &mut out);
    if dir.join("build.rs").is_file() {
        out.push(dir.join("build.rs"));
    }
    if dir.join("Cargo.toml").is_file() && !dir.join("src").exists() {
        // The end-to-end crate keeps its code beside its manifest.
        walk(dir, &mut out);
    }
    out
}

/// The name a dependency is imported by (`md-5` is `md5`).
fn import_name(dependency: &str) -> String {
    match dependency {
        "md-5" => "md5".into(),
        other => other.replace('-', "_"),
    }
}

/// Dependencies a crate's code never names.
pub fn unused_dependencies(krate: &Crate) -> Vec<String> {
    let code: String = sources(&krate.dir)
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    krate
        .dependencies
        .iter()
        .filter(|d| {
            let name = import_name(d);
            !(code.contains(&format!("{name}::")) || code.contains(&format!("use {name}")))
        })
        .cloned()
        .collect()
}

/// The top-level module a source file belongs to (`src/trainer/step.rs` → `trainer`), `None`
/// for the crate root.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (!["lib", "main"].contains(&name.as_str())).then_some(name)
}

/// Circles among a crate's top-level modules (`crate::a` used in `b`'s files and back), each as
/// its modules in order.
pub fn module_cycles(dir: &Path) -> Vec<Vec<String>> {
    let src = dir.join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in sources(dir) {
        let Some(from) = top_module(&src, &file) else {
            continue;
        };
        // Code only: a doc comment's link to another module imports nothing.
        let text: String = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let to: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let is_module =
                src.join(format!("{to}.rs")).is_file() || src.join(&to).join("mod.rs").is_file();
            if !to.is_empty() && to != from && is_module {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // Every cycle through each module, found by depth-first search, reported once.
    let mut cycles: BTreeSet<Vec<String>> = BTreeSet::new();
    fn search(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        cycles: &mut BTreeSet<Vec<String>>,
    ) {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            let smallest = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| n.as_str())
                .map(|(i, _)| i)
                .unwrap_or(0);
            cycle.rotate_left(smallest);
            cycles.insert(cycle);
            return;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            search(next, edges, path, cycles);
        }
        path.pop();
    }
    for node in edges.keys() {
        search(node, &edges, &mut Vec::new(), &mut cycles);
    }
    cycles.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cargo::workspace_root;

    #[test]
    fn the_architecture_doc_draws_the_manifests_graph() {
        let root = workspace_root();
        let expected = graph_section(&crate_graph(&workspace_crates(&root)));
        let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
        let section = doc
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(section, _)| section.trim())
            .unwrap_or_default();
        assert_eq!(
            section,
            expected.trim(),
            "docs/architecture.md's crate graph differs from the manifests; put this between its markers:\n{expected}"
        );
    }

    #[test]
    fn every_dependency_is_used() {
        let unused: Vec<String> = workspace_crates(&workspace_root())
            .iter()
            .flat_map(|c| {
                unused_dependencies(c)
                    .into_iter()
                    .map(move |d| format!("{}: {d}", c.name))
            })
            .collect();
        assert!(unused.is_empty(), "dependencies no code uses: {unused:?}");
    }

    #[test]
    fn no_crate_has_module_circles() {
        let circles: Vec<String> = workspace_crates(&workspace_root())
            .iter()
            .flat_map(|c| {
                module_cycles(&c.dir)
                    .into_iter()
                    .map(move |cycle| format!("{}: {}", c.name, cycle.join(" → ")))
            })
            .collect();
        assert!(
            circles.is_empty(),
            "modules that import one another: {circles:?}"
        );
    }

    /// The checks find what they look for.
    #[test]
    fn the_checks_see_cycles_and_unused_dependencies() {
        let dir = std::env::temp_dir().join(format!("jeat-tidy-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.rs"), "use crate::b::B;\n").unwrap();
        std::fs::write(dir.join("src/b.rs"), "pub fn f() { crate::a::g() }\n").unwrap();
        std::fs::write(
            dir.join("src/c.rs"),
            "use crate::a;\nuse serde_json::Value;\n",
        )
        .unwrap();
        assert_eq!(module_cycles(&dir), vec![vec!["a".to_string(), "b".into()]]);
        let krate = Crate {
            name: "probe".into(),
            dir: dir.clone(),
            dependencies: vec!["serde_json".into(), "md-5".into()],
        };
        assert_eq!(unused_dependencies(&krate), vec!["md-5".to_string()]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
