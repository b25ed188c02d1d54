//! The AST as canonical lines of code, each tied to the source range it came from so that
//! comments can be put back next to it (see `layout.rs`).

use super::comments::Comment;
use crate::syntax::ast::*;

/// Blocks that hold one simple statement stay on one line up to this width.
pub const MAX_WIDTH: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole statement, or a block written on one line.
    Leaf,
    /// `head {`: a block's first line.
    Open,
    /// A block's closing `}`.
    Close,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Nesting depth; two spaces each.
    pub depth: usize,
    pub code: String,
    /// The source range the line stands for. Comments before `end` and not yet placed go
    /// above the line; comments after it on the same source line go after it.
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// A block folded onto one line: it may not be folded again into its parent.
    pub folded: bool,
}

pub struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    depth: usize,
    pub lines: Vec<Line>,
}

impl<'a> Printer<'a> {
    pub fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            depth: 0,
            lines: Vec::new(),
        }
    }

    pub fn file(&mut self, file: &File) {
        for item in &file.items {
            match item {
                TopItem::Use(u) => self.use_decl(u),
                TopItem::Template(t) => {
                    let head = format!("template {}{}", t.name.name, extends(&t.extends));
                    self.service_body(head, t.span, &t.body);
                }
                TopItem::System(s) => {
                    let open = self.open_brace(s.name.span.end as usize);
                    self.block(format!("system {}", s.name.name), s.span, open, |p| {
                        for item in &s.items {
                            p.system_item(item);
                        }
                    });
                }
            }
        }
    }

    fn text(&self, span: crate::source::Span) -> &'a str {
        &self.src[span.start as usize..span.end as usize]
    }

    /// A quantity as written, with the space before a spaced unit (`2400 rps`) made one space.
    fn quantity(&self, q: &Quantity) -> String {
        let text = self.text(q.span);
        match q.unit.as_ref() {
            Some(unit) => {
                let digits = text[..(unit.span.start - q.span.start) as usize].trim_end();
                let gap = if digits.len() + unit.name.len() < text.len() {
                    " "
                } else {
                    ""
                };
                format!("{digits}{gap}{}", unit.name)
            }
            None => text.to_string(),
        }
    }

    fn money(&self, m: &Money) -> &'a str {
        self.text(m.span)
    }

    fn string(&self, s: &Str) -> &'a str {
        self.text(s.span)
    }

    fn path(&self, p: &Path) -> &'a str {
        self.text(p.span)
    }

    fn leaf(&mut self, code: String, span: crate::source::Span) {
        self.lines.push(Line {
            depth: self.depth,
            code,
            start: span.start as usize,
            end: span.end as usize,
            kind: Kind::Leaf,
            folded: false,
        });
    }

    /// Where the `{` after `from` is: only whitespace and comments lie between.
    fn open_brace(&self, from: usize) -> usize {
        let mut at = from;
        for c in self.comments.iter().filter(|c| c.end > from) {
            if let Some(n) = self.src[at..c.start.max(at)].find('{') {
                return at + n;
            }
            at = c.end.max(at);
        }
        // The parser accepted a block here, so there is a `{`.
        at + self.src[at..].find('{').unwrap_or(0)
    }

    /// A block `head { … }` whose `{` is at `open` and whose span ends with its `}`. It is
    /// folded onto one line when it holds one simple statement, no comment, and fits.
    fn block(
        &mut self,
        head: String,
        span: crate::source::Span,
        open: usize,
        body: impl FnOnce(&mut Self),
    ) {
        let (start, end) = (span.start as usize, span.end as usize);
        let first = self.lines.len();
        self.depth += 1;
        body(self);
        self.depth -= 1;
        let inner = self.lines.split_off(first);
        let quiet = !self
            .comments
            .iter()
            .any(|c| c.start > start && c.start < end);
        let one_line = match inner.as_slice() {
            [] => Some(format!("{head} {{}}")),
            [only] if quiet && only.kind == Kind::Leaf && !only.folded => {
                Some(format!("{head} {{ {} }}", only.code))
            }
            _ => None,
        };
        if let Some(code) = one_line.filter(|c| 2 * self.depth + c.chars().count() <= MAX_WIDTH) {
            self.lines.push(Line {
                depth: self.depth,
                code,
                start,
                end,
                kind: Kind::Leaf,
                folded: !inner.is_empty(),
            });
            return;
        }
        self.lines.push(Line {
            depth: self.depth,
            code: format!("{head} {{"),
            start,
            end: open + 1,
            kind: Kind::Open,
            folded: false,
        });
        self.lines.extend(inner);
        self.lines.push(Line {
            depth: self.depth,
            code: "}".into(),
            start: end - 1,
            end,
            kind: Kind::Close,
            folded: false,
        });
    }

    fn use_decl(&mut self, u: &Use) {
        let from = match &u.source {
            UseSource::Std { span, .. } => self.text(*span),
            UseSource::File(s) => self.string(s),
        };
        let names: Vec<&str> = u.names.iter().map(|n| n.name.as_str()).collect();
        self.leaf(format!("use {from}.{{{}}}", names.join(", ")), u.span);
    }

    fn service_body(&mut self, head: String, span: crate::source::Span, body: &ServiceBody) {
        self.block(head, span, body.span.start as usize, |p| {
            for f in &body.fields {
                p.field(f);
            }
        });
    }

    fn system_item(&mut self, item: &SystemItem) {
        match item {
            SystemItem::Pricing { items, span } => {
                let open = self.open_brace(span.start as usize);
                self.block("pricing".into(), *span, open, |p| {
                    for i in items {
                        let code = format!("{} {}", p.resource(&i.resource), p.money(&i.price));
                        p.leaf(code, i.span);
                    }
                });
            }
            SystemItem::Cluster { items, span } => {
                let open = self.open_brace(span.start as usize);
                self.block("cluster".into(), *span, open, |p| {
                    for i in items {
                        let code = format!("{} {}", p.resource(&i.resource), p.quantity(&i.amount));
                        p.leaf(code, i.span);
                    }
                });
            }
            SystemItem::Budget { amount, span } => {
                self.leaf(format!("budget {}", self.money(amount)), *span);
            }
            SystemItem::Workload(w) => {
                let open = self.open_brace(w.name.span.end as usize);
                self.block(format!("workload {}", w.name.name), w.span, open, |p| {
                    for i in &w.items {
                        let code = p.workload_item(i);
                        p.leaf(code, i.span());
                    }
                });
            }
            SystemItem::Service(s) => {
                let head = format!("service {}{}", s.name.name, extends(&s.extends));
                self.service_body(head, s.span, &s.body);
            }
            SystemItem::Deploy(d) => {
                let open = self.open_brace(d.target.span.end as usize);
                self.block(format!("deploy {}", d.target.name), d.span, open, |p| {
                    for s in &d.settings {
                        let code = format!("{} {}", s.key.name, p.value(&s.value));
                        p.leaf(code, s.span);
                    }
                });
            }
            SystemItem::Scenario(s) => {
                let open = self.open_brace(s.name.span.end as usize);
                self.block(format!("scenario {}", s.name.name), s.span, open, |p| {
                    for i in &s.items {
                        p.scenario_item(i);
                    }
                });
            }
        }
    }

    fn resource(&self, r: &Resource) -> String {
        match r {
            Resource::Gpu { kind, .. } => format!("gpu {}", kind.name),
            Resource::Named(i) => i.name.clone(),
        }
    }

    fn value(&self, v: &Value) -> String {
        match v {
            Value::Str(s) => self.string(s).into(),
            Value::Money(m) => self.money(m).into(),
            Value::Quantity(q) => self.quantity(q),
            Value::Ident(i) => i.name.clone(),
        }
    }

    fn workload_item(&self, item: &WorkloadItem) -> String {
        match item {
            WorkloadItem::Entry { target, .. } => format!("entry {}", self.path(target)),
            WorkloadItem::Rate { rate, .. } => format!("rate {}", self.quantity(rate)),
            WorkloadItem::Arrivals { process, .. } => format!(
                "arrivals {}",
                match process {
                    Arrivals::Poisson { .. } => "poisson".to_string(),
                    Arrivals::Bursty { scv, .. } => format!("bursty(scv {})", self.quantity(scv)),
                    Arrivals::Trace { file, .. } => format!("trace({})", self.string(file)),
                }
            ),
            WorkloadItem::Slo { stat, bound, .. } => {
                format!("slo {} < {}", stat.text, self.quantity(bound))
            }
            WorkloadItem::Every { period, .. } => format!("every {}", self.quantity(period)),
            WorkloadItem::Work { amount, .. } => format!("work {}", self.quantity(amount)),
            WorkloadItem::Deadline { time, .. } => format!("deadline {}", self.quantity(time)),
        }
    }

    fn scenario_item(&mut self, item: &ScenarioItem) {
        let (code, span) = match item {
            ScenarioItem::Load {
                factor,
                workload,
                span,
            } => {
                let mut code = format!("load {}", self.quantity(factor));
                if let Some(w) = workload {
                    code = format!("{code} {}", w.name);
                }
                (code, span)
            }
            ScenarioItem::Fail {
                count,
                what,
                of,
                span,
            } => {
                let mut code = format!("fail {} {}", self.quantity(count), what.name);
                if let Some(o) = of {
                    code = format!("{code} of {}", o.name);
                }
                (code, span)
            }
            ScenarioItem::Set {
                target,
                value,
                span,
            } => (
                format!("set {} {}", self.path(target), self.value(value)),
                span,
            ),
            ScenarioItem::ExpectSlo { span } => ("expect slo".to_string(), span),
            ScenarioItem::Expect {
                subject,
                op,
                bound,
                span,
            } => {
                let op = match op {
                    Comparator::Lt => "<",
                    Comparator::Le => "<=",
                    Comparator::Gt => ">",
                    Comparator::Ge => ">=",
                };
                let bound = match bound {
                    Bound::Quantity(q) => self.quantity(q),
                    Bound::Money(m) => self.money(m).into(),
                };
                (format!("expect {} {op} {bound}", self.path(subject)), span)
            }
        };
        self.leaf(code, *span);
    }

    fn field(&mut self, f: &Field) {
        let code = match &f.kind {
            FieldKind::Image(s) => format!("image {}", self.string(s)),
            FieldKind::Port(q) => format!("port {}", self.quantity(q)),
            FieldKind::Protocol(i) => format!("protocol {}", i.name),
            FieldKind::Cpu(q) => format!("cpu {}", self.quantity(q)),
            FieldKind::Memory(q) => format!("memory {}", self.quantity(q)),
            FieldKind::Gpu { types, count } => {
                let kinds = match types {
                    GpuTypes::One(k) => k.name.clone(),
                    GpuTypes::OneOf { kinds, .. } => format!(
                        "one_of({})",
                        kinds
                            .iter()
                            .map(|k| k.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                format!("gpu {kinds} x {}", self.quantity(count))
            }
            FieldKind::Workers { count, blocking } => format!(
                "workers {}{}",
                self.quantity(count),
                if *blocking { " blocking" } else { "" }
            ),
            FieldKind::Replicas(Replicas::Fixed(q)) => format!("replicas {}", self.quantity(q)),
            FieldKind::Replicas(Replicas::Range { min, max }) => {
                format!("replicas {}..{}", self.quantity(min), self.quantity(max))
            }
            FieldKind::Shards(q) => format!("shards {}", self.quantity(q)),
            FieldKind::Balance(i) => format!("balance {}", i.name),
            FieldKind::Kind(i) => format!("kind {}", i.name),
            FieldKind::Env(kvs) | FieldKind::Labels(kvs) => {
                let head = f.kind.keyword().to_string();
                let open = self.open_brace(f.span.start as usize + head.len());
                self.block(head, f.span, open, |p| {
                    for kv in kvs {
                        let code = format!("{} {}", kv.key.name, p.string(&kv.value));
                        p.leaf(code, kv.span);
                    }
                });
                return;
            }
            FieldKind::Secret { key, from } => {
                format!("secret {} from {}", key.name, self.string(from))
            }
            FieldKind::Cost(m) => format!("cost {}", self.money(m)),
            FieldKind::Health(s) => format!("health {}", self.string(s)),
            FieldKind::Warmup(q) => format!("warmup {}", self.quantity(q)),
            FieldKind::Endpoint(e) => {
                let open = self.open_brace(e.name.span.end as usize);
                self.block(format!("endpoint {}", e.name.name), e.span, open, |p| {
                    for s in &e.statements {
                        p.statement(s);
                    }
                });
                return;
            }
            FieldKind::Statement(s) => {
                self.statement(s);
                return;
            }
        };
        self.leaf(code, f.span);
    }

    fn statement(&mut self, s: &Statement) {
        let code = match s {
            Statement::Time { time, on, .. } => match on {
                Some(t) => format!("time on {} {}", t.name, self.time_spec(time)),
                None => format!("time {}", self.time_spec(time)),
            },
            Statement::Call(c) => self.call(c),
            Statement::Parallel { steps, span } => {
                let open = self.open_brace(span.start as usize + "parallel".len());
                self.block("parallel".into(), *span, open, |p| {
                    for s in steps {
                        p.statement(s);
                    }
                });
                return;
            }
            Statement::Cache { hit, time, .. } => {
                let mut code = format!("cache hit {}", self.quantity(hit));
                if let Some(t) = time {
                    code = format!("{code} time {}", self.time_spec(t));
                }
                code
            }
            Statement::Batch {
                max, up_to, wait, ..
            } => {
                let mut code = format!("batch max {}", self.quantity(max));
                if let Some(hi) = up_to {
                    code = format!("{code}..{}", self.quantity(hi));
                }
                if let Some(w) = wait {
                    code = format!("{code} wait {}", self.quantity(w));
                }
                code
            }
        };
        self.leaf(code, s.span());
    }

    fn time_spec(&self, t: &TimeSpec) -> String {
        match t {
            TimeSpec::Dist { name, args, .. } => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let value = match &a.value {
                            ArgValue::Quantity(q) => self.quantity(q),
                            ArgValue::Str(s) => self.string(s).into(),
                        };
                        match &a.name {
                            Some(n) => format!("{} {value}", n.name),
                            None => value,
                        }
                    })
                    .collect();
                format!("{}({})", name.name, args.join(", "))
            }
            TimeSpec::Fitted { low, high, .. } => format!(
                "{} {} {} {}",
                low.0.text,
                self.quantity(&low.1),
                high.0.text,
                self.quantity(&high.1)
            ),
            TimeSpec::Linear { base, per_item, .. } => format!(
                "{} + {} per item",
                self.quantity(base),
                self.quantity(per_item)
            ),
            TimeSpec::Bare(q) => self.quantity(q),
        }
    }

    fn call(&self, c: &Call) -> String {
        let mut code = format!("call {}", self.path(&c.target));
        for m in &c.modifiers {
            let part = match m {
                CallModifier::When { ratio, .. } => format!("when {}", self.quantity(ratio)),
                CallModifier::Times {
                    count, parallel, ..
                } => format!(
                    "times {}{}",
                    self.quantity(count),
                    if *parallel { " parallel" } else { "" }
                ),
                CallModifier::Async { .. } => "async".into(),
                CallModifier::Timeout { time, .. } => format!("timeout {}", self.quantity(time)),
                CallModifier::Retries { count, .. } => {
                    format!("retries {}", self.quantity(count))
                }
            };
            code.push(' ');
            code.push_str(&part);
        }
        code
    }
}

fn extends(e: &Option<Ident>) -> String {
    e.as_ref()
        .map_or(String::new(), |e| format!(" extends {}", e.name))
}
