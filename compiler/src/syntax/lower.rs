//! Lowers pest pairs into the spanned AST. The grammar guarantees each pair's shape, so a
//! mismatch here is a bug in this file, not in the user's input.

use super::Rule;
use super::ast::*;
use crate::diagnostics::{Diagnostic, codes};
use crate::source::{FileId, Span};
use pest::iterators::{Pair, Pairs};

/// `parallel` groups nested deeper than this are rejected (LANGUAGE.md).
const MAX_PARALLEL_DEPTH: usize = 256;

pub fn file(file: FileId, pairs: Pairs<'_, Rule>) -> Result<File, Vec<Diagnostic>> {
    file_with_gap(file, pairs, None)
}

/// Lowers a file whose text had the bytes `at..at + len` cut out before parsing: positions
/// after `at` are moved back to where they are in the file.
pub fn file_with_gap(
    file: FileId,
    mut pairs: Pairs<'_, Rule>,
    gap: Option<(usize, usize)>,
) -> Result<File, Vec<Diagnostic>> {
    let mut lower = Lower {
        file,
        base: 0,
        gap,
        errors: Vec::new(),
    };
    let root = pairs.next().expect("the grammar yields one `file` pair");
    let mut items = Vec::new();
    for pair in children(root) {
        match pair.as_rule() {
            Rule::use_decl => items.push(TopItem::Use(lower.use_decl(pair))),
            Rule::template_decl => items.push(TopItem::Template(lower.template(pair))),
            Rule::system_decl => items.push(TopItem::System(lower.system(pair))),
            Rule::EOI => {}
            r => unreachable!("top item {r:?}"),
        }
    }
    if lower.errors.is_empty() {
        Ok(File { items })
    } else {
        Err(lower.errors)
    }
}

/// Lowers a run of system items parsed on their own (`system_items`) from a slice of the file
/// that starts at byte `base`.
pub fn system_items(
    file: FileId,
    base: usize,
    mut pairs: Pairs<'_, Rule>,
) -> Result<Vec<SystemItem>, Vec<Diagnostic>> {
    let mut lower = Lower {
        file,
        base,
        gap: None,
        errors: Vec::new(),
    };
    let root = pairs
        .next()
        .expect("the grammar yields one `system_items` pair");
    let items = children(root)
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| lower.system_item(p))
        .collect();
    if lower.errors.is_empty() {
        Ok(items)
    } else {
        Err(lower.errors)
    }
}

/// Children without keyword pairs, which carry no information.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

fn is_keyword(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        arrivals_kw
            | async_kw
            | balance_kw
            | batch_kw
            | blocking_kw
            | budget_kw
            | bursty_kw
            | cache_kw
            | call_kw
            | cluster_kw
            | cost_kw
            | cpu_kw
            | deadline_kw
            | deploy_kw
            | endpoint_kw
            | entry_kw
            | env_kw
            | every_kw
            | expect_kw
            | extends_kw
            | fail_kw
            | from_kw
            | gpu_kw
            | health_kw
            | hit_kw
            | image_kw
            | item_kw
            | kind_kw
            | labels_kw
            | load_kw
            | max_kw
            | memory_kw
            | of_kw
            | on_kw
            | one_of_kw
            | parallel_kw
            | per_kw
            | port_kw
            | pricing_kw
            | protocol_kw
            | rate_kw
            | replicas_kw
            | retries_kw
            | scenario_kw
            | scv_kw
            | secret_kw
            | service_kw
            | set_kw
            | shards_kw
            | slo_kw
            | system_kw
            | template_kw
            | time_kw
            | timeout_kw
            | times_kw
            | trace_kw
            | use_kw
            | wait_kw
            | warmup_kw
            | when_kw
            | work_kw
            | workers_kw
            | workload_kw
            | x_kw
    )
}

struct Lower {
    file: FileId,
    /// Where the parsed text starts in the file: pest's positions are relative to it.
    base: usize,
    /// `(at, len)`: the parsed text lacks the file's bytes `at..at + len`.
    gap: Option<(usize, usize)>,
    errors: Vec<Diagnostic>,
}

impl Lower {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.at(s.start()), self.at(tight_end(pair)))
    }

    /// A position in the parsed text, as a position in the file.
    fn at(&self, pos: usize) -> usize {
        match self.gap {
            Some((at, len)) if pos > at => pos + len,
            _ => self.base + pos,
        }
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    /// An identifier at `offset` bytes into `pair`, `len` bytes long.
    fn ident_in(&self, pair: &Pair<'_, Rule>, offset: usize, len: usize) -> Ident {
        let start = pair.as_span().start() + offset;
        Ident {
            name: pair.as_str()[offset..offset + len].to_string(),
            span: Span::new(self.file, self.at(start), self.at(start + len)),
        }
    }

    /// `a.b.p99.9` → `a`, `b`, `p99.9`: a part starting with a digit continues the previous one.
    fn path(&self, pair: Pair<'_, Rule>) -> Path {
        let span = self.span(&pair);
        let text = pair.as_str();
        let mut bounds: Vec<(usize, usize)> = Vec::new();
        let mut start = 0;
        for part in text.split('.') {
            match bounds.last_mut() {
                Some(last) if part.starts_with(|c: char| c.is_ascii_digit()) => {
                    last.1 += 1 + part.len()
                }
                _ => bounds.push((start, part.len())),
            }
            start += part.len() + 1;
        }
        Path {
            segments: bounds
                .iter()
                .map(|&(at, len)| self.ident_in(&pair, at, len))
                .collect(),
            span,
        }
    }

    fn quantity(&self, pair: Pair<'_, Rule>) -> Quantity {
        let span = self.span(&pair);
        let text = pair.as_str();
        let digits = number_prefix(text);
        let rest = &text[digits..];
        let unit_at = text.len() - rest.trim_start().len();
        let unit =
            (unit_at < text.len()).then(|| self.ident_in(&pair, unit_at, text.len() - unit_at));
        Quantity {
            value: parse_number(&text[..digits]),
            unit,
            span,
        }
    }

    fn money(&self, pair: Pair<'_, Rule>) -> Money {
        let span = self.span(&pair);
        let text = pair.as_str();
        let digits = 1 + number_prefix(&text[1..]);
        let per = (digits < text.len())
            .then(|| self.ident_in(&pair, digits + 1, text.len() - digits - 1));
        Money {
            value: parse_number(&text[1..digits]),
            per,
            span,
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        let base = self.at(pair.as_span().start() + 1);
        let quoted = pair.as_str();
        let raw = &quoted[1..quoted.len() - 1];
        let mut value = String::with_capacity(raw.len());
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else { break };
            let decoded = match e {
                'n' => Some('\n'),
                't' => Some('\t'),
                'r' => Some('\r'),
                '0' => Some('\0'),
                '\\' => Some('\\'),
                '"' => Some('"'),
                'u' => {
                    let mut hex = String::new();
                    let mut closed = false;
                    if chars.peek().map(|&(_, c)| c) == Some('{') {
                        chars.next();
                        while let Some(&(_, h)) = chars.peek() {
                            chars.next();
                            if h == '}' {
                                closed = true;
                                break;
                            }
                            hex.push(h);
                        }
                    }
                    u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| closed)
                        .and_then(char::from_u32)
                }
                _ => None,
            };
            match decoded {
                Some(ch) => value.push(ch),
                None => {
                    let end = chars.peek().map_or(raw.len(), |&(j, _)| j);
                    let esc = Span::new(self.file, base + i, base + end);
                    self.errors.push(
                        Diagnostic::new(
                            codes::INVALID_ESCAPE,
                            format!("invalid escape `{}` in a string", &raw[i..end]),
                        )
                        .at(esc, "not a known escape")
                        .help("the escapes are `\\n`, `\\t`, `\\r`, `\\0`, `\\\\`, `\\\"` and `\\u{…}` with a unicode scalar value in hex"),
                    );
                }
            }
        }
        Str { value, span }
    }

    fn stat(&self, pair: Pair<'_, Rule>) -> Stat {
        Stat {
            text: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn use_decl(&mut self, pair: Pair<'_, Rule>) -> Use {
        let span = self.span(&pair);
        let source_pair = children(pair).next().expect("use has a source");
        let mut inner = children(source_pair.clone());
        let source = match source_pair.as_rule() {
            Rule::use_std => {
                let p = inner.next().expect("std path");
                let module = children(p.clone())
                    .map(|i| i.as_str().to_string())
                    .collect();
                UseSource::Std {
                    module,
                    span: self.span(&p),
                }
            }
            Rule::use_file => UseSource::File(self.string(inner.next().expect("file path"))),
            r => unreachable!("use source {r:?}"),
        };
        let names = children(inner.next().expect("name list"))
            .map(|p| self.ident(p))
            .collect();
        Use {
            source,
            names,
            span,
        }
    }

    fn extends(&self, pair: Option<Pair<'_, Rule>>) -> Option<Ident> {
        pair.map(|p| self.ident(children(p).next().expect("extends names a template")))
    }

    fn template(&mut self, pair: Pair<'_, Rule>) -> Template {
        let span = self.span(&pair);
        let (name, extends, body) = self.named_body(pair);
        Template {
            name,
            extends,
            body,
            span,
        }
    }

    fn named_body(&mut self, pair: Pair<'_, Rule>) -> (Ident, Option<Ident>, ServiceBody) {
        let mut inner = children(pair).peekable();
        let name = self.ident(inner.next().expect("name"));
        let extends = if inner.peek().map(|p| p.as_rule()) == Some(Rule::extends) {
            self.extends(inner.next())
        } else {
            None
        };
        let body = self.service_body(inner.next().expect("body"));
        (name, extends, body)
    }

    fn system(&mut self, pair: Pair<'_, Rule>) -> System {
        let span = self.span(&pair);
        let mut inner = children(pair);
        let name = self.ident(inner.next().expect("system name"));
        let items = inner.map(|p| self.system_item(p)).collect();
        System { name, items, span }
    }

    fn system_item(&mut self, pair: Pair<'_, Rule>) -> SystemItem {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::pricing_decl => SystemItem::Pricing {
                items: children(pair)
                    .map(|p| {
                        let span = self.span(&p);
                        let mut i = children(p);
                        let resource = self.resource(i.next().expect("resource"));
                        let price = self.money(i.next().expect("price"));
                        PriceItem {
                            resource,
                            price,
                            span,
                        }
                    })
                    .collect(),
                span,
            },
            Rule::cluster_decl => SystemItem::Cluster {
                items: children(pair)
                    .map(|p| {
                        let span = self.span(&p);
                        let mut i = children(p);
                        let resource = self.resource(i.next().expect("resource"));
                        let amount = self.quantity(i.next().expect("amount"));
                        ClusterItem {
                            resource,
                            amount,
                            span,
                        }
                    })
                    .collect(),
                span,
            },
            Rule::budget_decl => SystemItem::Budget {
                amount: self.money(children(pair).next().expect("budget amount")),
                span,
            },
            Rule::workload_decl => SystemItem::Workload(self.workload(pair)),
            Rule::service_decl => {
                let (name, extends, body) = self.named_body(pair);
                SystemItem::Service(Service {
                    name,
                    extends,
                    body,
                    span,
                })
            }
            Rule::deploy_decl => {
                let mut inner = children(pair);
                let target = self.ident(inner.next().expect("deploy target"));
                let settings = inner.map(|p| self.setting(p)).collect();
                SystemItem::Deploy(Deploy {
                    target,
                    settings,
                    span,
                })
            }
            Rule::scenario_decl => SystemItem::Scenario(self.scenario(pair)),
            r => unreachable!("system item {r:?}"),
        }
    }

    fn resource(&self, pair: Pair<'_, Rule>) -> Resource {
        let inner = children(pair).next().expect("resource body");
        match inner.as_rule() {
            Rule::gpu_resource => Resource::Gpu {
                span: self.span(&inner),
                kind: self.ident(children(inner).next().expect("gpu kind")),
            },
            _ => Resource::Named(self.ident(inner)),
        }
    }

    fn workload(&mut self, pair: Pair<'_, Rule>) -> Workload {
        let span = self.span(&pair);
        let mut inner = children(pair);
        let name = self.ident(inner.next().expect("workload name"));
        let items = inner
            .map(|p| {
                let span = self.span(&p);
                let rule = p.as_rule();
                let mut i = children(p);
                let mut first = || i.next().expect("workload item operand");
                match rule {
                    Rule::entry => WorkloadItem::Entry {
                        target: self.path(first()),
                        span,
                    },
                    Rule::rate => WorkloadItem::Rate {
                        rate: self.quantity(first()),
                        span,
                    },
                    Rule::arrivals => {
                        let a = first();
                        let aspan = self.span(&a);
                        let process = match a.as_rule() {
                            Rule::poisson => Arrivals::Poisson { span: aspan },
                            Rule::bursty => Arrivals::Bursty {
                                scv: self.quantity(children(a).next().expect("scv")),
                                span: aspan,
                            },
                            Rule::trace => Arrivals::Trace {
                                file: self.string(children(a).next().expect("trace file")),
                                span: aspan,
                            },
                            r => unreachable!("arrivals {r:?}"),
                        };
                        WorkloadItem::Arrivals { process, span }
                    }
                    Rule::slo => {
                        let stat = self.stat(first());
                        let bound = self.quantity(first());
                        WorkloadItem::Slo { stat, bound, span }
                    }
                    Rule::every => WorkloadItem::Every {
                        period: self.quantity(first()),
                        span,
                    },
                    Rule::work => WorkloadItem::Work {
                        amount: self.quantity(first()),
                        span,
                    },
                    Rule::deadline => WorkloadItem::Deadline {
                        time: self.quantity(first()),
                        span,
                    },
                    r => unreachable!("workload item {r:?}"),
                }
            })
            .collect();
        Workload { name, items, span }
    }

    fn service_body(&mut self, pair: Pair<'_, Rule>) -> ServiceBody {
        let span = self.span(&pair);
        let fields = children(pair).map(|p| self.field(p)).collect();
        ServiceBody { fields, span }
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Field {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::time | Rule::call | Rule::parallel | Rule::cache | Rule::batch => {
                FieldKind::Statement(self.statement(pair, 0))
            }
            Rule::endpoint_decl => {
                let mut inner = children(pair);
                let name = self.ident(inner.next().expect("endpoint name"));
                let statements = inner.map(|p| self.statement(p, 0)).collect();
                FieldKind::Endpoint(Endpoint {
                    name,
                    statements,
                    span,
                })
            }
            _ => {
                let mut inner = children(pair);
                let mut next = || inner.next().expect("field operand");
                match rule {
                    Rule::image => FieldKind::Image(self.string(next())),
                    Rule::port => FieldKind::Port(self.quantity(next())),
                    Rule::protocol => FieldKind::Protocol(self.ident(next())),
                    Rule::cpu => FieldKind::Cpu(self.quantity(next())),
                    Rule::memory => FieldKind::Memory(self.quantity(next())),
                    Rule::gpu => {
                        let first = next();
                        let choice = if first.as_rule() == Rule::gpu_choice {
                            GpuTypes::OneOf {
                                span: self.span(&first),
                                kinds: children(first).map(|p| self.ident(p)).collect(),
                            }
                        } else {
                            GpuTypes::One(self.ident(first))
                        };
                        let count = self.quantity(next());
                        FieldKind::Gpu {
                            types: choice,
                            count,
                        }
                    }
                    Rule::workers => {
                        let count = self.quantity(next());
                        let blocking = inner.next().is_some();
                        FieldKind::Workers { count, blocking }
                    }
                    Rule::replicas => {
                        let r = next();
                        if r.as_rule() == Rule::replica_range {
                            let mut b = children(r);
                            let min = self.quantity(b.next().expect("min"));
                            let max = self.quantity(b.next().expect("max"));
                            FieldKind::Replicas(Replicas::Range { min, max })
                        } else {
                            FieldKind::Replicas(Replicas::Fixed(self.quantity(r)))
                        }
                    }
                    Rule::shards => FieldKind::Shards(self.quantity(next())),
                    Rule::balance => FieldKind::Balance(self.ident(next())),
                    Rule::kind => FieldKind::Kind(self.ident(next())),
                    Rule::env | Rule::labels => {
                        let pairs = std::iter::once(next())
                            .chain(inner)
                            .map(|kv| {
                                let span = self.span(&kv);
                                let mut i = children(kv);
                                let key = self.ident(i.next().expect("key"));
                                let value = self.string(i.next().expect("value"));
                                KeyValue { key, value, span }
                            })
                            .collect();
                        if rule == Rule::env {
                            FieldKind::Env(pairs)
                        } else {
                            FieldKind::Labels(pairs)
                        }
                    }
                    Rule::secret => {
                        let key = self.ident(next());
                        let from = self.string(next());
                        FieldKind::Secret { key, from }
                    }
                    Rule::cost => FieldKind::Cost(self.money(next())),
                    Rule::health => FieldKind::Health(self.string(next())),
                    Rule::warmup => FieldKind::Warmup(self.quantity(next())),
                    r => unreachable!("field {r:?}"),
                }
            }
        };
        Field { kind, span }
    }

    fn statement(&mut self, pair: Pair<'_, Rule>, depth: usize) -> Statement {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::time => {
                let mut inner = children(pair).peekable();
                let on = if inner.peek().map(|p| p.as_rule()) == Some(Rule::time_on) {
                    let p = inner.next().expect("peeked");
                    Some(self.ident(children(p).next().expect("gpu type")))
                } else {
                    None
                };
                Statement::Time {
                    time: Box::new(self.time_spec(inner.next().expect("time spec"))),
                    on,
                    span,
                }
            }
            Rule::call => Statement::Call(self.call(pair)),
            Rule::parallel => {
                if depth == MAX_PARALLEL_DEPTH {
                    self.errors.push(
                        Diagnostic::new(
                            codes::NESTING_TOO_DEEP,
                            format!("`parallel` groups nested more than {MAX_PARALLEL_DEPTH} deep"),
                        )
                        .at(span, "too deep here")
                        .help(
                            "a `parallel` group directly inside another adds nothing: flatten them",
                        ),
                    );
                    return Statement::Parallel {
                        steps: Vec::new(),
                        span,
                    };
                }
                Statement::Parallel {
                    steps: children(pair)
                        .map(|p| self.statement(p, depth + 1))
                        .collect(),
                    span,
                }
            }
            Rule::cache => {
                let mut inner = children(pair);
                let hit = self.quantity(inner.next().expect("hit ratio"));
                let time = inner.next().map(|p| Box::new(self.time_spec(p)));
                Statement::Cache { hit, time, span }
            }
            Rule::batch => {
                let mut inner = children(pair);
                let first = inner.next().expect("batch max");
                let (max, up_to) = if first.as_rule() == Rule::batch_range {
                    let mut b = children(first);
                    let lo = self.quantity(b.next().expect("min"));
                    let hi = self.quantity(b.next().expect("max"));
                    (lo, Some(hi))
                } else {
                    (self.quantity(first), None)
                };
                let wait = inner.next().map(|p| self.quantity(p));
                Statement::Batch {
                    max,
                    up_to,
                    wait,
                    span,
                }
            }
            r => unreachable!("statement {r:?}"),
        }
    }

    fn time_spec(&mut self, pair: Pair<'_, Rule>) -> TimeSpec {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::quantity => TimeSpec::Bare(self.quantity(pair)),
            Rule::batch_time => {
                let mut inner = children(pair);
                let base = self.quantity(inner.next().expect("base"));
                let per_item = self.quantity(inner.next().expect("per item"));
                TimeSpec::Linear {
                    base,
                    per_item,
                    span,
                }
            }
            Rule::fitted => {
                let mut inner = children(pair);
                let mut pair_of = || {
                    let s = self.stat(inner.next().expect("stat"));
                    let q = self.quantity(inner.next().expect("time"));
                    (s, q)
                };
                let low = pair_of();
                let high = pair_of();
                TimeSpec::Fitted { low, high, span }
            }
            Rule::dist_call => {
                let mut inner = children(pair);
                let name = self.ident(inner.next().expect("distribution name"));
                let args = inner
                    .map(|a| {
                        let span = self.span(&a);
                        let mut name = None;
                        let mut value = None;
                        for p in children(a) {
                            match p.as_rule() {
                                Rule::ident => name = Some(self.ident(p)),
                                Rule::string => value = Some(ArgValue::Str(self.string(p))),
                                _ => value = Some(ArgValue::Quantity(self.quantity(p))),
                            }
                        }
                        DistArg {
                            name,
                            value: value.expect("argument value"),
                            span,
                        }
                    })
                    .collect();
                TimeSpec::Dist { name, args, span }
            }
            r => unreachable!("time spec {r:?}"),
        }
    }

    fn call(&mut self, pair: Pair<'_, Rule>) -> Call {
        let span = self.span(&pair);
        let mut inner = children(pair);
        let target = self.path(inner.next().expect("call target"));
        let modifiers = inner
            .map(|m| {
                let span = self.span(&m);
                let rule = m.as_rule();
                let mut i = children(m);
                match rule {
                    Rule::when => CallModifier::When {
                        ratio: self.quantity(i.next().expect("ratio")),
                        span,
                    },
                    Rule::times => CallModifier::Times {
                        count: self.quantity(i.next().expect("count")),
                        parallel: i.next().is_some(),
                        span,
                    },
                    Rule::async_ => CallModifier::Async { span },
                    Rule::timeout => CallModifier::Timeout {
                        time: self.quantity(i.next().expect("timeout")),
                        span,
                    },
                    Rule::retries => CallModifier::Retries {
                        count: self.quantity(i.next().expect("retries")),
                        span,
                    },
                    r => unreachable!("call modifier {r:?}"),
                }
            })
            .collect();
        Call {
            target,
            modifiers,
            span,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let inner = children(pair).next().expect("value");
        match inner.as_rule() {
            Rule::string => Value::Str(self.string(inner)),
            Rule::money => Value::Money(self.money(inner)),
            Rule::quantity => Value::Quantity(self.quantity(inner)),
            _ => Value::Ident(self.ident(inner)),
        }
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let span = self.span(&pair);
        let mut inner = children(pair);
        let key = self.ident(inner.next().expect("setting key"));
        let value = self.value(inner.next().expect("setting value"));
        Setting { key, value, span }
    }

    fn scenario(&mut self, pair: Pair<'_, Rule>) -> Scenario {
        let span = self.span(&pair);
        let mut inner = children(pair);
        let name = self.ident(inner.next().expect("scenario name"));
        let items = inner
            .map(|p| {
                let span = self.span(&p);
                let rule = p.as_rule();
                let mut i = children(p);
                match rule {
                    Rule::load => ScenarioItem::Load {
                        factor: self.quantity(i.next().expect("factor")),
                        workload: i.next().map(|w| self.ident(w)),
                        span,
                    },
                    Rule::fail => ScenarioItem::Fail {
                        count: self.quantity(i.next().expect("count")),
                        what: self.ident(i.next().expect("what")),
                        of: i.next().map(|w| self.ident(w)),
                        span,
                    },
                    Rule::set => {
                        let target = self.path(i.next().expect("target"));
                        let value = self.value(i.next().expect("value"));
                        ScenarioItem::Set {
                            target,
                            value,
                            span,
                        }
                    }
                    Rule::expect => {
                        let e = i.next().expect("expectation");
                        match e.as_rule() {
                            Rule::expect_slo => ScenarioItem::ExpectSlo { span },
                            _ => {
                                let mut c = children(e);
                                let subject = self.path(c.next().expect("subject"));
                                let op = match c.next().expect("comparator").as_str() {
                                    "<" => Comparator::Lt,
                                    "<=" => Comparator::Le,
                                    ">" => Comparator::Gt,
                                    _ => Comparator::Ge,
                                };
                                let b = c.next().expect("bound");
                                let bound = if b.as_rule() == Rule::money {
                                    Bound::Money(self.money(b))
                                } else {
                                    Bound::Quantity(self.quantity(b))
                                };
                                ScenarioItem::Expect {
                                    subject,
                                    op,
                                    bound,
                                    span,
                                }
                            }
                        }
                    }
                    r => unreachable!("scenario item {r:?}"),
                }
            })
            .collect();
        Scenario { name, items, span }
    }
}

/// The length of the number at the start of `text` (digits, `_` separators, a fraction).
fn number_prefix(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(text.len())
}

/// Digits (with `_` separators) as written; the grammar admits nothing else.
fn parse_number(text: &str) -> f64 {
    let parsed = if text.contains('_') {
        text.replace('_', "").parse()
    } else {
        text.parse()
    };
    parsed.unwrap_or(f64::INFINITY)
}

/// Where a pair's last token ends. A rule that ends in an optional part (`call x` without
/// modifiers, `batch max 8` without `wait`) has already skipped the whitespace and comments
/// before it when the part turns out absent; pest keeps them in the pair, but a label should
/// stop at the last thing written.
fn tight_end(pair: &Pair<'_, Rule>) -> usize {
    let end = pair.as_span().end();
    // Trivia ends in whitespace or the `/` of `*/`; anything else is already tight.
    if !pair
        .as_str()
        .ends_with(|c: char| c.is_ascii_whitespace() || c == '/' || c == '\u{FEFF}')
    {
        return end;
    }
    let Some(last) = pair.clone().into_inner().next_back() else {
        return end;
    };
    let last_end = last.as_span().end();
    let gap = &pair.get_input()[last_end..end];
    if is_trivia(gap) {
        tight_end(&last)
    } else {
        end
    }
}

/// Whether `s` is only whitespace and comments.
fn is_trivia(mut s: &str) -> bool {
    loop {
        s = s.trim_start_matches([' ', '\t', '\r', '\n', '\u{FEFF}']);
        if s.is_empty() {
            return true;
        }
        if let Some(rest) = s.strip_prefix("//") {
            s = rest.find('\n').map_or("", |i| &rest[i..]);
        } else if let Some(rest) = s.strip_prefix("/*") {
            match rest.find("*/") {
                Some(i) => s = &rest[i + 2..],
                None => return false,
            }
        } else {
            return false;
        }
    }
}
