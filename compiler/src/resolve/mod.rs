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
    /// Every template of every module.
    pub templates: Vec<ast::Template>,
    /// For each service of `system`, in declaration order: indices into `templates` of the
    /// templates it extends, nearest first (empty when it extends nothing), or `None` when the
    /// chain could not be resolved.
    pub chains: Vec<Option<Vec<usize>>>,
    /// Templates of the root file that no service extends, each with the templates it extends
    /// (nearest first): the checker checks them on their own.
    pub unused_templates: Vec<(usize, Vec<usize>)>,
}

/// Where a template is defined: module index, template index within that module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TemplateRef {
    module: usize,
    index: usize,
}

#[derive(Clone, Debug)]
struct ScopeEntry {
    /// `None` for a name whose import failed: it is known to be meant, and uses of it are not
    /// reported again.
    target: Option<TemplateRef>,
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
    /// Whether a large file may be parsed on two threads.
    parallel: bool,
    sources: &'a mut SourceMap,
    diagnostics: Diagnostics,
    modules: Vec<Module>,
    /// Keys of the modules being loaded, outermost first, for cycle detection.
    loading: Vec<String>,
}

/// Lookup failure: `None` when already reported (a failed import), else the diagnostic.
type LookupError = Option<Box<Diagnostic>>;

/// Resolves the file `name` with contents `bytes`.
pub fn resolve(
    name: &str,
    bytes: &[u8],
    loader: &dyn SourceLoader,
    sources: &mut SourceMap,
    parallel: bool,
) -> (Option<Resolved>, Diagnostics) {
    let mut r = Resolver {
        loader,
        sources,
        parallel,
        diagnostics: Diagnostics::default(),
        modules: Vec::new(),
        loading: Vec::new(),
    };
    let Some(root) = r.load(name.to_string(), name.to_string(), bytes, false, None) else {
        return (None, r.diagnostics);
    };
    r.check_template_cycles();
    let resolved = r.finish(root);
    (Some(resolved), r.diagnostics)
}

impl Resolver<'_> {
    /// Parses and registers one module and, recursively, what it imports. Returns its index,
    /// or `None` when it could not be parsed. `imported_at` is the `use` that asked for it.
    fn load(
        &mut self,
        key: String,
        display: String,
        bytes: &[u8],
        is_std: bool,
        imported_at: Option<Span>,
    ) -> Option<usize> {
        let (text, utf8_error) = match std::str::from_utf8(bytes) {
            Ok(t) => (t.to_string(), None),
            Err(e) => (
                String::from_utf8_lossy(bytes).into_owned(),
                Some(e.valid_up_to()),
            ),
        };
        let binary = bytes.contains(&0);
        let file = self.sources.add(display, text);
        if let Some(at) = utf8_error {
            self.diagnostics.push(syntax::not_utf8(file, at, binary));
            return None;
        }
        let parallel_from = if self.parallel {
            syntax::PARALLEL_MIN_BYTES
        } else {
            usize::MAX
        };
        let ast = match syntax::parse_with(file, &self.sources.get(file).text, parallel_from) {
            Ok(ast) => ast,
            Err(errors) => {
                self.diagnostics.extend(errors);
                return None;
            }
        };
        if ast.items.is_empty() {
            let f = self.sources.get(file);
            let what = if f.text.trim().is_empty() {
                "is empty"
            } else {
                "holds only comments"
            };
            let d = Diagnostic::new(codes::EMPTY_FILE, format!("`{}` {what}", f.name));
            let d = match imported_at {
                Some(at) => d
                    .at(at, "imported here")
                    .help("an imported module needs at least one `template`"),
                None => d.at(Span::new(file, 0, 0), "nothing here").help(
                    "a design needs a `system NAME { … }`; a library module needs at least one `template`",
                ),
            };
            self.diagnostics.push(d);
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
                ast::TopItem::System(s) => self.add_system(index, s),
            }
        }
        self.define_locals(index);
        for u in &uses {
            self.import(index, u);
        }
        self.loading.pop();
        Some(index)
    }

    fn add_system(&mut self, index: usize, s: ast::System) {
        match &self.modules[index].system {
            Some(first) => self.diagnostics.push(
                Diagnostic::new(
                    codes::SECOND_SYSTEM,
                    format!("a second system `{}` in one file", s.name.name),
                )
                .at(s.name.span, "second system")
                .with(first.name.span, "the first system is here")
                .help("put each system in its own file; share templates with `use \"./file.arch\".{…}`"),
            ),
            None => self.modules[index].system = Some(s),
        }
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
                    target: Some(TemplateRef {
                        module: index,
                        index: i,
                    }),
                    imported_at: None,
                },
            );
        }
        self.modules[index].scope = scope;
    }

    fn import(&mut self, importer: usize, u: &ast::Use) {
        let module = self.load_import(importer, u);
        for name in &u.names {
            let target = match module {
                Some(m) => match self.modules[m].scope.get(&name.name) {
                    Some(entry) => entry.target,
                    None => {
                        self.diagnostics.push(self.unknown_import(m, name));
                        None
                    }
                },
                None => None,
            };
            if let Some(prev) = self.modules[importer].scope.get(&name.name) {
                let d = match (prev.imported_at, prev.target) {
                    (Some(first), _) => Diagnostic::new(
                        codes::DUPLICATE,
                        format!("`{}` is imported twice", name.name),
                    )
                    .at(name.span, "imported again here")
                    .with(first, "first imported here")
                    .help(format!("remove the second `{}`", name.name)),
                    (None, Some(local)) => Diagnostic::new(
                        codes::DUPLICATE,
                        format!("template `{}` is both imported and defined here", name.name),
                    )
                    .at(self.template(local).name.span, "defined here")
                    .with(name.span, "imported here")
                    .help(format!(
                        "rename the local template, or remove `{}` from the `use` list",
                        name.name
                    )),
                    (None, None) => continue,
                };
                self.diagnostics.push(d);
                continue;
            }
            self.modules[importer].scope.insert(
                name.name.clone(),
                ScopeEntry {
                    target,
                    imported_at: Some(name.span),
                },
            );
        }
    }

    /// Finds, loads or reuses the module a `use` names.
    fn load_import(&mut self, importer: usize, u: &ast::Use) -> Option<usize> {
        // The module's key, where the `use` names it, and its embedded text for the stdlib.
        let (key, span, embedded) = match &u.source {
            ast::UseSource::Std { module, span } => {
                let path = module.join(".");
                let key = format!("std.{path}");
                let Some(found) = stdlib::module(&path) else {
                    let known: Vec<String> = stdlib::names().map(|n| format!("std.{n}")).collect();
                    let help = did_you_mean(&key, known.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("the standard library has {}", one_of(&known)));
                    self.diagnostics.push(
                        Diagnostic::new(
                            codes::UNKNOWN_MODULE,
                            format!("no module `{key}` in the standard library"),
                        )
                        .at(*span, "unknown module")
                        .help(help),
                    );
                    return None;
                };
                (key, *span, Some(found))
            }
            ast::UseSource::File(path) => {
                let key = if self.modules[importer].is_std {
                    path.value.clone()
                } else {
                    join(&self.modules[importer].key, &path.value)
                };
                (key, path.span, None)
            }
        };
        if let Some(existing) = self.existing(&key, span) {
            return existing;
        }
        if let Some((display, text)) = embedded {
            return self.load(key, display.to_string(), text.as_bytes(), true, Some(span));
        }
        match self.loader.read(&key) {
            Ok(bytes) => self.load(key.clone(), key, &bytes, false, Some(span)),
            Err(e) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        codes::UNREADABLE_FILE,
                        format!("cannot read `{}`: {}", key, io_reason(&e)),
                    )
                    .at(span, "imported here")
                    .help("paths in `use` are relative to the importing file"),
                );
                None
            }
        }
    }

    /// `Some(module)` when `key` is already loaded, `Some(None)` when loading it now would be a
    /// cycle (reported here), `None` when it is new.
    fn existing(&mut self, key: &str, span: Span) -> Option<Option<usize>> {
        let index = self.modules.iter().position(|m| m.key == key)?;
        if self.loading.iter().any(|k| k == key) {
            self.cycle(key, span);
            return Some(None);
        }
        Some(Some(index))
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
        let is_service = m.system.as_ref().is_some_and(|sys| {
            sys.items
                .iter()
                .any(|i| matches!(i, ast::SystemItem::Service(s) if s.name.name == name.name))
        });
        if is_service {
            return Diagnostic::new(
                codes::UNKNOWN_IMPORT,
                format!("`{}` is a service in `{shown}`, not a template", name.name),
            )
            .at(name.span, "not importable")
            .help(
                "only templates can be imported; turn the service into a `template` and extend it",
            );
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

    /// The template `name` refers to from `module`.
    fn lookup(&self, module: usize, name: &ast::Ident) -> Result<TemplateRef, LookupError> {
        if let Some(e) = self.modules[module].scope.get(&name.name) {
            return e.target.ok_or(None);
        }
        let names: Vec<&str> = self.modules[module]
            .scope
            .keys()
            .map(String::as_str)
            .collect();
        let in_std = stdlib::names().find(|m| {
            stdlib::module(m).is_some_and(|(_, text)| defines_template(text, &name.name))
        });
        let help = match (did_you_mean(&name.name, names.iter().copied()), in_std) {
            (Some(s), _) => s,
            (None, Some(m)) => format!(
                "the standard library has it: add `use std.{m}.{{{}}}`",
                name.name
            ),
            (None, None) => format!(
                "define `template {} {{ … }}`, or import it from the file that defines it",
                name.name
            ),
        };
        Err(Some(Box::new(
            Diagnostic::new(
                codes::UNKNOWN_TEMPLATE,
                format!("no template named `{}`", name.name),
            )
            .at(name.span, "not found")
            .help(help),
        )))
    }

    /// The templates above a service, nearest first, stopping at a cycle (reported elsewhere).
    fn chain_from(
        &self,
        module: usize,
        extends: &ast::Ident,
    ) -> Result<Vec<TemplateRef>, LookupError> {
        let mut chain = Vec::new();
        let mut current = self.lookup(module, extends)?;
        loop {
            if chain.contains(&current) {
                return Ok(chain);
            }
            chain.push(current);
            match &self.template(current).extends {
                None => return Ok(chain),
                Some(parent) => current = self.lookup(current.module, parent)?,
            }
        }
    }

    /// Reports unknown `extends` of templates, and each `extends` cycle once, at its first
    /// template in source order.
    fn check_template_cycles(&mut self) {
        let mut found = Vec::new();
        for (m, module) in self.modules.iter().enumerate() {
            for (i, t) in module.templates.iter().enumerate() {
                let me = TemplateRef {
                    module: m,
                    index: i,
                };
                let Some(parent) = &t.extends else { continue };
                let mut current = match self.lookup(m, parent) {
                    Ok(t) => t,
                    Err(d) => {
                        found.extend(d.map(|d| *d));
                        continue;
                    }
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
                    found.push(self.template_cycle(t, parent, &path));
                }
            }
        }
        self.diagnostics.extend(found);
    }

    fn template_cycle(
        &self,
        t: &ast::Template,
        parent: &ast::Ident,
        path: &[TemplateRef],
    ) -> Diagnostic {
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
        d.help("a template cannot extend itself, directly or through others; remove one `extends`")
    }

    fn finish(&mut self, root: usize) -> Resolved {
        let mut used: Vec<TemplateRef> = Vec::new();
        let mut chains: Vec<Option<Vec<TemplateRef>>> = Vec::new();
        let system = self.modules[root].system.take();
        for item in system.iter().flat_map(|s| &s.items) {
            let ast::SystemItem::Service(s) = item else {
                continue;
            };
            let Some(ext) = &s.extends else {
                chains.push(Some(Vec::new()));
                continue;
            };
            match self.chain_from(root, ext) {
                Ok(chain) => {
                    used.extend(chain.iter().copied());
                    chains.push(Some(chain));
                }
                Err(d) => {
                    self.diagnostics.extend(d.map(|d| *d));
                    chains.push(None);
                }
            }
        }
        self.warn_unused(root, &used, system.is_some());
        // The root file's templates that no service extends are checked on their own, so a
        // library module (or an unused template) is not a place where mistakes hide.
        let mut unused = Vec::new();
        for index in 0..self.modules[root].templates.len() {
            let me = TemplateRef {
                module: root,
                index,
            };
            if used.contains(&me) {
                continue;
            }
            let parents = match &self.template(me).extends {
                None => Some(Vec::new()),
                Some(ext) => self.chain_from(root, ext).ok(),
            };
            if let Some(parents) = parents.filter(|p| !p.contains(&me)) {
                unused.push((me, parents));
            }
        }
        // Flatten the templates so the checker can borrow them by index.
        let mut offsets = Vec::with_capacity(self.modules.len());
        let mut templates = Vec::new();
        for m in &mut self.modules {
            offsets.push(templates.len());
            templates.append(&mut m.templates);
        }
        let flat =
            |refs: &[TemplateRef]| refs.iter().map(|r| offsets[r.module] + r.index).collect();
        let chains = chains.iter().map(|c| c.as_deref().map(flat)).collect();
        let unused_templates = unused
            .iter()
            .map(|(me, parents)| (offsets[me.module] + me.index, flat(parents)))
            .collect();
        Resolved {
            root: self.modules[root].file,
            system,
            templates,
            chains,
            unused_templates,
        }
    }

    /// Unused templates and imports of the root file. A file without a system is a library
    /// whose templates are meant for others, so it gets no such warnings; after errors an
    /// unresolved name makes the guess unreliable, so neither does a broken design.
    fn warn_unused(&mut self, root: usize, used: &[TemplateRef], has_system: bool) {
        if !has_system || self.diagnostics.has_errors() {
            return;
        }
        let mut warnings = Vec::new();
        for entry in self.modules[root].scope.values() {
            let Some(target) = entry.target else { continue };
            if used.contains(&target) {
                continue;
            }
            warnings.push(match entry.imported_at {
                Some(at) => Diagnostic::new(
                    codes::UNUSED_IMPORT,
                    format!("`{}` is imported but never used", self.sources.text(at)),
                )
                .at(at, "unused import")
                .help("remove it from the `use` list, or extend it with `service NAME extends …`"),
                None => {
                    let t = self.template(target);
                    Diagnostic::new(
                        codes::UNUSED_TEMPLATE,
                        format!("template `{}` is never used", t.name.name),
                    )
                    .at(t.name.span, "no service extends it")
                    .help("remove it, or use it with `service NAME extends …`")
                }
            });
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

/// Whether a module's text defines `template NAME` (for import suggestions).
fn defines_template(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some("template") && words.next() == Some(name)
    })
}

/// An I/O error in words, without the "(os error 2)" noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => {
            let s = e.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_lowercase()
        }
    }
}
