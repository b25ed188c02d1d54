//! `use` imports, the embedded stdlib, and `extends` chains.
//!
//! Input: the root file's bytes and a [`SourceLoader`] for everything it imports. Output: a
//! [`Resolved`] program — the root system plus, for every service, the templates it extends —
//! and the diagnostics found on the way. Templates resolve lexically: a template's `extends`
//! is looked up in the file that defines it.

mod loader;
mod stdlib;

pub use loader::{FsLoader, MemoryLoader, SourceLoader, join};

use crate::diagnostics::{Diagnostic, Diagnostics, codes, did_you_mean, one_of};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::BTreeMap;

/// The program after name resolution.
#[derive(Debug)]
pub struct Resolved {
    pub root: FileId,
    pub system: Option<ast::System>,
    /// For each service of `system`, in declaration order: the templates it extends, nearest
    /// first. Empty when it extends nothing or its chain could not be resolved.
    pub chains: Vec<Vec<ast::Template>>,
}

/// Where a template is defined: module index, template index within that module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TemplateRef {
    module: usize,
    index: usize,
}

#[derive(Clone, Debug)]
struct ScopeEntry {
    target: TemplateRef,
    /// The imported name's span, for imports; `None` for templates defined in the module.
    imported_at: Option<Span>,
}

struct Module {
    key: String,
    file: FileId,
    is_std: bool,
    templates: Vec<ast::Template>,
    system: Option<ast::System>,
    scope: BTreeMap<String, ScopeEntry>,
}

struct Resolver<'a> {
    loader: &'a dyn SourceLoader,
    sources: &'a mut SourceMap,
    diagnostics: Diagnostics,
    modules: Vec<Module>,
    /// Modules being loaded, for cycle detection: (key, index).
    loading: Vec<String>,
}

/// Resolves the file `name` with contents `bytes`.
pub fn resolve(
    name: &str,
    bytes: &[u8],
    loader: &dyn SourceLoader,
    sources: &mut SourceMap,
) -> (Option<Resolved>, Diagnostics) {
    let mut r = Resolver {
        loader,
        sources,
        diagnostics: Diagnostics::default(),
        modules: Vec::new(),
        loading: Vec::new(),
    };
    let Some(root) = r.load(name.to_string(), name.to_string(), bytes, false) else {
        return (None, r.diagnostics);
    };
    r.check_template_cycles();
    let resolved = r.finish(root);
    (Some(resolved), r.diagnostics)
}

impl Resolver<'_> {
    /// Parses and registers one module and, recursively, what it imports. Returns its index,
    /// or `None` when it could not be parsed.
    fn load(&mut self, key: String, display: String, bytes: &[u8], is_std: bool) -> Option<usize> {
        let (text, utf8_error) = match std::str::from_utf8(bytes) {
            Ok(t) => (t.to_string(), None),
            Err(e) => (
                String::from_utf8_lossy(bytes).into_owned(),
                Some(e.valid_up_to()),
            ),
        };
        let file = self.sources.add(display, text);
        if let Some(at) = utf8_error {
            self.diagnostics.push(syntax::not_utf8(file, at));
            return None;
        }
        let text = self.sources.get(file).text.clone();
        let ast = match syntax::parse(file, &text) {
            Ok(ast) => ast,
            Err(errors) => {
                self.diagnostics.extend(errors);
                return None;
            }
        };
        if ast.items.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(codes::EMPTY_FILE, "file is empty")
                    .at(Span::new(file, 0, 0), "nothing here")
                    .help("a design needs a `system NAME { … }`; a library module needs at least one `template`"),
            );
            return None;
        }
        let index = self.modules.len();
        self.modules.push(Module {
            key: key.clone(),
            file,
            is_std,
            templates: Vec::new(),
            system: None,
            scope: BTreeMap::new(),
        });
        self.loading.push(key);
        let mut uses = Vec::new();
        for item in ast.items {
            match item {
                ast::TopItem::Use(u) => uses.push(u),
                ast::TopItem::Template(t) => self.modules[index].templates.push(t),
                ast::TopItem::System(s) => {
                    if let Some(first) = &self.modules[index].system {
                        self.diagnostics.push(
                            Diagnostic::new(
                                codes::SECOND_SYSTEM,
                                format!("a second system `{}` in one file", s.name.name),
                            )
                            .at(s.name.span, "second system")
                            .with(first.name.span, "the first system is here")
                            .help("put each system in its own file; share templates with `use \"./file.arch\".{…}`"),
                        );
                    } else {
                        self.modules[index].system = Some(s);
                    }
                }
            }
        }
        self.define_locals(index);
        for u in &uses {
            self.import(index, u);
        }
        self.loading.pop();
        Some(index)
    }

    fn define_locals(&mut self, index: usize) {
        let mut scope = BTreeMap::new();
        let mut first_at: BTreeMap<String, Span> = BTreeMap::new();
        for (i, t) in self.modules[index].templates.iter().enumerate() {
            if let Some(prev) = first_at.get(&t.name.name) {
                self.diagnostics.push(duplicate("template", &t.name, *prev));
                continue;
            }
            first_at.insert(t.name.name.clone(), t.name.span);
            scope.insert(
                t.name.name.clone(),
                ScopeEntry {
                    target: TemplateRef {
                        module: index,
                        index: i,
                    },
                    imported_at: None,
                },
            );
        }
        self.modules[index].scope = scope;
    }

    fn import(&mut self, importer: usize, u: &ast::Use) {
        let Some(module) = self.load_import(importer, u) else {
            return;
        };
        for name in &u.names {
            let Some(entry) = self.modules[module].scope.get(&name.name).cloned() else {
                self.diagnostics.push(self.unknown_import(module, name));
                continue;
            };
            let scope = &self.modules[importer].scope;
            if let Some(prev) = scope.get(&name.name) {
                let prev_span = prev
                    .imported_at
                    .unwrap_or_else(|| self.template(prev.target).name.span);
                self.diagnostics
                    .push(duplicate("template", name, prev_span));
                continue;
            }
            self.modules[importer].scope.insert(
                name.name.clone(),
                ScopeEntry {
                    target: entry.target,
                    imported_at: Some(name.span),
                },
            );
        }
    }

    /// Finds, loads or reuses the module a `use` names.
    fn load_import(&mut self, importer: usize, u: &ast::Use) -> Option<usize> {
        let (key, display, span, bytes, is_std) = match &u.source {
            ast::UseSource::Std { module, span } => {
                let path = module.join(".");
                let key = format!("std.{path}");
                match stdlib::module(&path) {
                    Some((display, text)) => (
                        key,
                        display.to_string(),
                        *span,
                        text.as_bytes().to_vec(),
                        true,
                    ),
                    None => {
                        let mut d = Diagnostic::new(
                            codes::UNKNOWN_MODULE,
                            format!("no module `{key}` in the standard library"),
                        )
                        .at(*span, "unknown module");
                        let known: Vec<String> =
                            stdlib::names().map(|n| format!("std.{n}")).collect();
                        d = d.help(match did_you_mean(&key, known.iter().map(String::as_str)) {
                            Some(s) => s,
                            None => format!("the standard library has {}", one_of(&known)),
                        });
                        self.diagnostics.push(d);
                        return None;
                    }
                }
            }
            ast::UseSource::File(path) => {
                let from = &self.modules[importer].key;
                let key = if self.modules[importer].is_std {
                    path.value.clone()
                } else {
                    join(from, &path.value)
                };
                if let Some(existing) = self.modules.iter().position(|m| m.key == key) {
                    if self.loading.contains(&key) {
                        self.cycle(&key, path.span);
                        return None;
                    }
                    return Some(existing);
                }
                match self.loader.read(&key) {
                    Ok(bytes) => (key.clone(), key, path.span, bytes, false),
                    Err(e) => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                codes::UNREADABLE_FILE,
                                format!("cannot read `{}`: {}", key, io_reason(&e)),
                            )
                            .at(path.span, "imported here")
                            .help("paths in `use` are relative to the importing file"),
                        );
                        return None;
                    }
                }
            }
        };
        if let Some(existing) = self.modules.iter().position(|m| m.key == key) {
            if self.loading.contains(&key) {
                self.cycle(&key, span);
                return None;
            }
            return Some(existing);
        }
        self.load(key, display, &bytes, is_std)
    }

    fn cycle(&mut self, key: &str, span: Span) {
        let start = self.loading.iter().position(|k| k == key).unwrap_or(0);
        let mut chain: Vec<&str> = self.loading[start..].iter().map(String::as_str).collect();
        chain.push(key);
        let shown = chain
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(" → ");
        self.diagnostics.push(
            Diagnostic::new(codes::IMPORT_CYCLE, format!("import cycle: {shown}"))
                .at(span, "this import closes the cycle")
                .help("move the shared templates into a module that imports neither"),
        );
    }

    fn unknown_import(&self, module: usize, name: &ast::Ident) -> Diagnostic {
        let m = &self.modules[module];
        let shown = self.sources.get(m.file).name.clone();
        if let Some(sys) = &m.system {
            let is_service = sys
                .items
                .iter()
                .any(|i| matches!(i, ast::SystemItem::Service(s) if s.name.name == name.name));
            if is_service {
                return Diagnostic::new(codes::UNKNOWN_IMPORT, format!("`{}` is a service in `{shown}`, not a template", name.name))
                    .at(name.span, "not importable")
                    .help("only templates can be imported; turn the service into a `template` and extend it");
            }
        }
        let d = Diagnostic::new(
            codes::UNKNOWN_IMPORT,
            format!("`{shown}` has no template `{}`", name.name),
        )
        .at(name.span, "not found");
        let names: Vec<&str> = m.scope.keys().map(String::as_str).collect();
        match did_you_mean(&name.name, names.iter().copied()) {
            Some(s) => d.help(s),
            None if names.is_empty() => d.help(format!("`{shown}` defines no templates")),
            None => d.help(format!("`{shown}` has {}", one_of(&names))),
        }
    }

    fn template(&self, r: TemplateRef) -> &ast::Template {
        &self.modules[r.module].templates[r.index]
    }

    /// The template `name` refers to from `module`, or a diagnostic.
    fn lookup(&self, module: usize, name: &ast::Ident) -> Result<TemplateRef, Diagnostic> {
        if let Some(e) = self.modules[module].scope.get(&name.name) {
            return Ok(e.target);
        }
        let names: Vec<&str> = self.modules[module]
            .scope
            .keys()
            .map(String::as_str)
            .collect();
        let d = Diagnostic::new(
            codes::UNKNOWN_TEMPLATE,
            format!("no template named `{}`", name.name),
        )
        .at(name.span, "not found");
        Err(match did_you_mean(&name.name, names.iter().copied()) {
            Some(s) => d.help(s),
            None => d.help(format!(
                "define `template {} {{ … }}` or import it, e.g. `use std.ml.{{{}}}`",
                name.name, name.name
            )),
        })
    }

    /// The chain of templates above `start`, nearest first, stopping at a cycle or an unknown
    /// name (which are reported elsewhere).
    fn chain_from(
        &self,
        module: usize,
        extends: &ast::Ident,
    ) -> Result<Vec<TemplateRef>, Diagnostic> {
        let mut chain = Vec::new();
        let mut current = self.lookup(module, extends)?;
        loop {
            if chain.contains(&current) {
                return Ok(chain);
            }
            chain.push(current);
            let t = self.template(current);
            match &t.extends {
                None => return Ok(chain),
                Some(parent) => current = self.lookup(current.module, parent)?,
            }
        }
    }

    /// Reports each `extends` cycle once, at its first template in source order.
    fn check_template_cycles(&mut self) {
        let mut found = Vec::new();
        for (m, module) in self.modules.iter().enumerate() {
            for (i, t) in module.templates.iter().enumerate() {
                let me = TemplateRef {
                    module: m,
                    index: i,
                };
                let Some(parent) = &t.extends else { continue };
                let Ok(mut current) = self.lookup(m, parent) else {
                    found.push(self.lookup(m, parent).unwrap_err());
                    continue;
                };
                let mut path = vec![me];
                while current != me && !path.contains(&current) {
                    path.push(current);
                    let next = &self.template(current).extends;
                    match next.as_ref().map(|p| self.lookup(current.module, p)) {
                        Some(Ok(n)) => current = n,
                        _ => break,
                    }
                }
                let is_first = path
                    .iter()
                    .all(|r| (r.module, r.index) >= (me.module, me.index));
                if current == me && is_first {
                    let mut names: Vec<String> = path
                        .iter()
                        .map(|r| format!("`{}`", self.template(*r).name.name))
                        .collect();
                    names.push(format!("`{}`", t.name.name));
                    let mut d = Diagnostic::new(
                        codes::TEMPLATE_CYCLE,
                        format!(
                            "templates extend each other in a cycle: {}",
                            names.join(" → ")
                        ),
                    )
                    .at(parent.span, "this `extends` starts the cycle");
                    for r in &path[1..] {
                        if let Some(p) = &self.template(*r).extends {
                            d = d.with(p.span, "part of the cycle");
                        }
                    }
                    found.push(d.help("a template cannot extend itself, directly or through others; remove one `extends`"));
                }
            }
        }
        self.diagnostics.extend(found);
    }

    fn finish(&mut self, root: usize) -> Resolved {
        let mut used: Vec<TemplateRef> = Vec::new();
        let mut chains = Vec::new();
        let system = self.modules[root].system.clone();
        if let Some(sys) = &system {
            for item in &sys.items {
                let ast::SystemItem::Service(s) = item else {
                    continue;
                };
                let Some(ext) = &s.extends else {
                    chains.push(Vec::new());
                    continue;
                };
                match self.chain_from(root, ext) {
                    Ok(chain) => {
                        used.extend(chain.iter().copied());
                        chains.push(chain.iter().map(|r| self.template(*r).clone()).collect());
                    }
                    Err(d) => {
                        self.diagnostics.push(d);
                        chains.push(Vec::new());
                    }
                }
            }
        }
        self.warn_unused(root, &used, system.is_some());
        Resolved {
            root: self.modules[root].file,
            system,
            chains,
        }
    }

    /// Unused templates and imports of the root file. A file without a system is a library
    /// whose templates are meant for others, so it gets no such warnings.
    fn warn_unused(&mut self, root: usize, used: &[TemplateRef], has_system: bool) {
        if !has_system {
            return;
        }
        let mut warnings = Vec::new();
        for entry in self.modules[root].scope.values() {
            if used.contains(&entry.target) {
                continue;
            }
            match entry.imported_at {
                Some(at) => warnings.push(
                    Diagnostic::new(
                        codes::UNUSED_IMPORT,
                        format!("`{}` is imported but never used", self.sources.text(at)),
                    )
                    .at(at, "unused import")
                    .help(
                        "remove it from the `use` list, or extend it with `service NAME extends …`",
                    ),
                ),
                None => {
                    let t = self.template(entry.target);
                    warnings.push(
                        Diagnostic::new(
                            codes::UNUSED_TEMPLATE,
                            format!("template `{}` is never used", t.name.name),
                        )
                        .at(t.name.span, "no service extends it")
                        .help("remove it, or use it with `service NAME extends …`"),
                    );
                }
            }
        }
        self.diagnostics.extend(warnings);
    }
}

fn duplicate(what: &str, name: &ast::Ident, previous: Span) -> Diagnostic {
    Diagnostic::new(
        codes::DUPLICATE,
        format!("{what} `{}` is defined twice", name.name),
    )
    .at(name.span, "defined again here")
    .with(previous, "first defined here")
    .help(format!("rename one of them; {what} names must be unique"))
}

/// An I/O error in words, without the "(os error 2)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            s.to_lowercase()
        }
    }
}
