//! `cargo xtask imports`: which source file of a crate uses which, and
//! whether any of them use each other in a circle.
//!
//! A file's imports are the `crate::`, `super::` and `self::` paths in its
//! code outside `#[cfg(test)]` items: `use` declarations and paths written
//! in place (`crate::ir::Function` in a signature). Each path names the
//! deepest module file it reaches; that file is the edge's target. Tests
//! are left out because a test may use anything in its crate without
//! making the code it tests depend on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use syn::visit::Visit;

pub const USAGE: &str = "\
usage: cargo xtask imports [--list] [CRATE_DIR]...

For each crate (default: every crate of the workspace), read its module
tree from src/lib.rs or src/main.rs and find the files that import each
other in a circle (through `use crate::…`, `super::…`, or a path written
in place; test code excluded). Exits non-zero if there is one.

  --list   also print every file's imports";

pub fn main(args: &[String]) -> Result<()> {
    let mut list = false;
    let mut crates = Vec::new();
    for a in args {
        match a.as_str() {
            "--list" => list = true,
            s if s.starts_with('-') => bail!("unknown option `{s}`\n\n{USAGE}"),
            s => crates.push(PathBuf::from(s)),
        }
    }
    if crates.is_empty() {
        crates = workspace_crates()?;
    }
    let mut circles = 0;
    for dir in &crates {
        let graph = ModuleGraph::read(dir)?;
        if list {
            println!("{}:", dir.display());
            for (file, targets) in &graph.imports {
                let names: Vec<_> = targets.iter().map(|t| graph.files[*t].as_str()).collect();
                println!("  {} -> {}", graph.files[*file], names.join(", "));
            }
        }
        for circle in graph.circles() {
            circles += 1;
            let names: Vec<_> = circle.iter().map(|f| graph.files[*f].as_str()).collect();
            println!("{}: circle: {}", dir.display(), names.join(" -> "));
        }
    }
    if circles > 0 {
        bail!("{circles} import circle(s)");
    }
    println!("no import circles in {} crate(s)", crates.len());
    Ok(())
}

/// The workspace's crates: the directories beside `xtask` with a
/// `Cargo.toml` and a `src` folder.
fn workspace_crates() -> Result<Vec<PathBuf>> {
    let root = crate::workspace::root().canonicalize()?;
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(&root)? {
        let dir = entry?.path();
        if dir.join("Cargo.toml").is_file() && dir.join("src").is_dir() {
            crates.push(dir);
        }
    }
    crates.sort();
    Ok(crates)
}

/// A crate's module files and the imports between them.
pub struct ModuleGraph {
    /// Each file's path relative to `src`, indexed by file number.
    pub files: Vec<String>,
    /// Module path (`["bridge", "resolve"]`) to file number.
    modules: BTreeMap<Vec<String>, usize>,
    /// File number to the files it imports.
    pub imports: BTreeMap<usize, BTreeSet<usize>>,
}

impl ModuleGraph {
    /// Reads the crate in `dir` from its root file down.
    pub fn read(dir: &Path) -> Result<Self> {
        let src = dir.join("src");
        let root = ["lib.rs", "main.rs"]
            .iter()
            .map(|n| src.join(n))
            .find(|p| p.is_file())
            .with_context(|| format!("{}: no src/lib.rs or src/main.rs", dir.display()))?;
        let mut graph = ModuleGraph {
            files: Vec::new(),
            modules: BTreeMap::new(),
            imports: BTreeMap::new(),
        };
        let mut parsed = Vec::new();
        graph.add_file(&src, &root, Vec::new(), &mut parsed)?;
        let modules: BTreeSet<Vec<String>> = graph.modules.keys().cloned().collect();
        for (file, module, ast) in &parsed {
            let mut collector = PathCollector {
                module: module.clone(),
                modules: modules.clone(),
                paths: Vec::new(),
            };
            collector.visit_file(ast);
            let targets: BTreeSet<usize> = collector
                .paths
                .iter()
                .filter_map(|p| graph.file_of(p))
                .filter(|t| t != file)
                .collect();
            graph.imports.insert(*file, targets);
        }
        Ok(graph)
    }

    /// Registers `path` as module `module`, then its `mod name;` children.
    fn add_file(
        &mut self,
        src: &Path,
        path: &Path,
        module: Vec<String>,
        parsed: &mut Vec<(usize, Vec<String>, syn::File)>,
    ) -> Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let ast = syn::parse_file(&text).with_context(|| format!("{}: parse", path.display()))?;
        let number = self.files.len();
        let relative = path.strip_prefix(src).unwrap_or(path);
        self.files.push(relative.display().to_string());
        self.modules.insert(module.clone(), number);
        // Children of `foo.rs` live in `foo/`; of `mod.rs`, `lib.rs` and
        // `main.rs`, beside the file.
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let child_dir = if module.is_empty() || stem == "mod" {
            path.parent().unwrap_or(src).to_path_buf()
        } else {
            path.with_extension("")
        };
        for item in &ast.items {
            let syn::Item::Mod(m) = item else { continue };
            if m.content.is_some() || is_test_only(&m.attrs) {
                continue;
            }
            let name = m.ident.to_string();
            let flat = child_dir.join(format!("{name}.rs"));
            let nested = child_dir.join(&name).join("mod.rs");
            let file = if flat.is_file() { flat } else { nested };
            let mut child = module.clone();
            child.push(name);
            self.add_file(src, &file, child, parsed)?;
        }
        parsed.push((number, module, ast));
        Ok(())
    }

    /// The file of the deepest module that `path` (absolute, from the crate
    /// root) passes through.
    fn file_of(&self, path: &[String]) -> Option<usize> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.modules.get(&path[..n]).copied())
    }

    /// Groups of two or more files that reach each other through imports
    /// (strongly connected components), each listed as one circle.
    pub fn circles(&self) -> Vec<Vec<usize>> {
        let n = self.files.len();
        let mut tarjan = Tarjan {
            graph: self,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            components: Vec::new(),
        };
        for v in 0..n {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        tarjan
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| self.one_circle(&c))
            .collect()
    }

    /// A cycle through the component `members`, starting at its first
    /// file, found by breadth-first search back to it.
    fn one_circle(&self, members: &[usize]) -> Vec<usize> {
        let inside: BTreeSet<usize> = members.iter().copied().collect();
        let start = *members.iter().min().expect("non-empty component");
        let mut came_from: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for &w in self.imports.get(&v).into_iter().flatten() {
                if !inside.contains(&w) {
                    continue;
                }
                if w == start {
                    let mut circle = vec![v];
                    let mut at = v;
                    while at != start {
                        at = came_from[&at];
                        circle.push(at);
                    }
                    circle.reverse();
                    circle.push(start);
                    return circle;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = came_from.entry(w) {
                    e.insert(v);
                    queue.push_back(w);
                }
            }
        }
        members.to_vec()
    }
}

struct Tarjan<'g> {
    graph: &'g ModuleGraph,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let targets: Vec<usize> = self
            .graph
            .imports
            .get(&v)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for w in targets {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            loop {
                let w = self.stack.pop().expect("v is on the stack");
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

/// `#[cfg(test)]` on an item.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .map(|i| i == "test")
                .unwrap_or(false)
    })
}

/// Collects the crate-relative paths of one file, made absolute.
struct PathCollector {
    /// The module being visited (grows inside inline `mod x { … }`).
    module: Vec<String>,
    /// Every module of the crate that has a file.
    modules: BTreeSet<Vec<String>>,
    paths: Vec<Vec<String>>,
}

impl PathCollector {
    /// `segments` made absolute if it starts with `crate`, `super` or
    /// `self`; `None` for paths into other crates or local names.
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let (mut base, rest) = match first.as_str() {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (self.module.clone(), &segments[1..]),
            "super" => {
                let mut base = self.module.clone();
                let mut rest = segments;
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                (base, rest)
            }
            // A path may also start with a child module's name (a lone
            // name is a local variable or an item, never a module).
            _ if segments.len() > 1 => {
                let mut child = self.module.clone();
                child.push(first.clone());
                if !self.modules.contains(&child) {
                    return None;
                }
                (self.module.clone(), segments)
            }
            _ => return None,
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn record(&mut self, segments: &[String]) {
        if let Some(p) = self.absolute(segments) {
            self.paths.push(p);
        }
    }

    /// Every path a `use` tree imports, with `prefix` before it.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.record(&full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.record(&full);
            }
            syn::UseTree::Glob(_) => {
                let full = prefix.clone();
                self.record(&full);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            _ => &[],
        };
        if is_test_only(attrs) {
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // An out-of-line `mod x;` is its own file; an inline one is part
        // of this file, one module deeper.
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    /// `pub(crate)` and `pub(super)` name who may see an item, not what
    /// it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments);
        syn::visit::visit_path(self, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate in a temporary directory named after `test`, from (path
    /// under src, text) pairs.
    fn crate_with(test: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skc-imports-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join("src").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    fn circle_names(dir: &Path) -> Vec<Vec<String>> {
        let g = ModuleGraph::read(dir).unwrap();
        g.circles()
            .into_iter()
            .map(|c| c.into_iter().map(|f| g.files[f].clone()).collect())
            .collect()
    }

    #[test]
    fn a_use_in_each_direction_is_a_circle() {
        let dir = crate_with(
            "circle",
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                ("a.rs", "use crate::b::B;\npub struct A(B);\n"),
                ("b/mod.rs", "mod inner;\npub use inner::B;\n"),
                (
                    "b/inner.rs",
                    "pub struct B;\nfn f(_: &super::super::a::A) {}\n",
                ),
            ],
        );
        let circles = circle_names(&dir);
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert!(circles[0].contains(&"a.rs".to_string()));
        assert!(circles[0].contains(&"b/inner.rs".to_string()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn test_code_and_other_crates_do_not_count() {
        let dir = crate_with(
            "tests",
            &[
                ("lib.rs", "mod a;\nmod b;\n"),
                (
                    "a.rs",
                    "use crate::b::B;\npub struct A(B, std::vec::Vec<u8>);\n",
                ),
                (
                    "b.rs",
                    "pub struct B;\n#[cfg(test)]\nmod tests { use crate::a::A; }\n",
                ),
            ],
        );
        assert!(circle_names(&dir).is_empty());
        let g = ModuleGraph::read(&dir).unwrap();
        let a = g.files.iter().position(|f| f == "a.rs").unwrap();
        let b = g.files.iter().position(|f| f == "b.rs").unwrap();
        assert_eq!(g.imports[&a], BTreeSet::from([b]));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_workspace_has_no_import_circles() {
        for dir in workspace_crates().unwrap() {
            let circles = circle_names(&dir);
            assert!(circles.is_empty(), "{}: {circles:?}", dir.display());
        }
    }
}
