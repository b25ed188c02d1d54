//! The spanned abstract syntax tree: what the user wrote, nothing resolved yet.
//!
//! Quantities keep their number and unit as written; the checker gives them meaning.

use crate::source::Span;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal with escapes decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

/// A dotted reference such as `ranker.score` or `homepage.p99`.
#[derive(Clone, Debug, PartialEq)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

/// A number with an optional unit: `120ms`, `2400 rps`, `85%`, `0.8`. The span covers both;
/// the digits as written are the span's text up to the unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub unit: Option<Ident>,
    pub span: Span,
}

/// A money amount with an optional time basis: `$0.71/h`, `$40000/month`.
#[derive(Clone, Debug, PartialEq)]
pub struct Money {
    pub value: f64,
    pub per: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<TopItem>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TopItem {
    Use(Use),
    Template(Template),
    System(System),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    pub source: UseSource,
    pub names: Vec<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UseSource {
    /// `std.ml` → `["ml"]`
    Std { module: Vec<String>, span: Span },
    /// `"./platform.arch"`
    File(Str),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    pub name: Ident,
    pub extends: Option<Ident>,
    pub body: ServiceBody,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct System {
    pub name: Ident,
    pub items: Vec<SystemItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SystemItem {
    Pricing { items: Vec<PriceItem>, span: Span },
    Cluster { items: Vec<ClusterItem>, span: Span },
    Budget { amount: Money, span: Span },
    Workload(Workload),
    Service(Service),
    Deploy(Deploy),
    Scenario(Scenario),
}

/// `cpu`, `memory`, `gpu nvidia-l4`, or any other word (rejected by the checker).
#[derive(Clone, Debug, PartialEq)]
pub enum Resource {
    Gpu { kind: Ident, span: Span },
    Named(Ident),
}

impl Resource {
    pub fn span(&self) -> Span {
        match self {
            Resource::Gpu { span, .. } => *span,
            Resource::Named(i) => i.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PriceItem {
    pub resource: Resource,
    pub price: Money,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterItem {
    pub resource: Resource,
    pub amount: Quantity,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub name: Ident,
    pub items: Vec<WorkloadItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadItem {
    Entry {
        target: Path,
        span: Span,
    },
    Rate {
        rate: Quantity,
        span: Span,
    },
    Arrivals {
        process: Arrivals,
        span: Span,
    },
    Slo {
        stat: Stat,
        bound: Quantity,
        span: Span,
    },
    Every {
        period: Quantity,
        span: Span,
    },
    Work {
        amount: Quantity,
        span: Span,
    },
    Deadline {
        time: Quantity,
        span: Span,
    },
}

impl WorkloadItem {
    pub fn span(&self) -> Span {
        match self {
            WorkloadItem::Entry { span, .. }
            | WorkloadItem::Rate { span, .. }
            | WorkloadItem::Arrivals { span, .. }
            | WorkloadItem::Slo { span, .. }
            | WorkloadItem::Every { span, .. }
            | WorkloadItem::Work { span, .. }
            | WorkloadItem::Deadline { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    Poisson { span: Span },
    Bursty { scv: Quantity, span: Span },
    Trace { file: Str, span: Span },
}

/// `mean`, `p99`, `p99.9` as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Stat {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: Ident,
    pub extends: Option<Ident>,
    pub body: ServiceBody,
    pub span: Span,
}

/// The block of a service or template: fields, endpoints, and short-form endpoint statements.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceBody {
    pub fields: Vec<Field>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub kind: FieldKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldKind {
    Image(Str),
    Port(Quantity),
    Protocol(Ident),
    Cpu(Quantity),
    Memory(Quantity),
    Gpu {
        types: GpuTypes,
        count: Quantity,
    },
    Workers {
        count: Quantity,
        blocking: bool,
    },
    Replicas(Replicas),
    Shards(Quantity),
    Balance(Ident),
    Kind(Ident),
    Env(Vec<KeyValue>),
    Labels(Vec<KeyValue>),
    Secret {
        key: Ident,
        from: Str,
    },
    Cost(Money),
    Health(Str),
    Warmup(Quantity),
    Endpoint(Endpoint),
    /// A `time`/`call`/`parallel`/`cache`/`batch` written directly in the service block.
    Statement(Statement),
}

impl FieldKind {
    /// The keyword that introduces the field, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            FieldKind::Image(_) => "image",
            FieldKind::Port(_) => "port",
            FieldKind::Protocol(_) => "protocol",
            FieldKind::Cpu(_) => "cpu",
            FieldKind::Memory(_) => "memory",
            FieldKind::Gpu { .. } => "gpu",
            FieldKind::Workers { .. } => "workers",
            FieldKind::Replicas(_) => "replicas",
            FieldKind::Shards(_) => "shards",
            FieldKind::Balance(_) => "balance",
            FieldKind::Kind(_) => "kind",
            FieldKind::Env(_) => "env",
            FieldKind::Labels(_) => "labels",
            FieldKind::Secret { .. } => "secret",
            FieldKind::Cost(_) => "cost",
            FieldKind::Health(_) => "health",
            FieldKind::Warmup(_) => "warmup",
            FieldKind::Endpoint(_) => "endpoint",
            FieldKind::Statement(s) => s.keyword(),
        }
    }
}

/// The GPU type of `gpu TYPE x N`, or the planner's choice `gpu one_of(T1, T2) x N`.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuTypes {
    One(Ident),
    OneOf { kinds: Vec<Ident>, span: Span },
}

impl GpuTypes {
    /// The types as written, in order.
    pub fn kinds(&self) -> &[Ident] {
        match self {
            GpuTypes::One(k) => std::slice::from_ref(k),
            GpuTypes::OneOf { kinds, .. } => kinds,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Replicas {
    Fixed(Quantity),
    Range { min: Quantity, max: Quantity },
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: Ident,
    pub value: Str,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub name: Ident,
    pub statements: Vec<Statement>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    /// Boxed: a time spec is several times larger than the other statements.
    Time {
        time: Box<TimeSpec>,
        /// `time on TYPE …`: the time on one GPU type.
        on: Option<Ident>,
        span: Span,
    },
    Call(Call),
    Parallel {
        steps: Vec<Statement>,
        span: Span,
    },
    Cache {
        hit: Quantity,
        time: Option<Box<TimeSpec>>,
        span: Span,
    },
    Batch {
        /// The batch max, or the lower bound of `batch max A..B`.
        max: Quantity,
        /// The upper bound of `batch max A..B`: the planner picks.
        up_to: Option<Quantity>,
        wait: Option<Quantity>,
        span: Span,
    },
}

impl Statement {
    pub fn keyword(&self) -> &'static str {
        match self {
            Statement::Time { .. } => "time",
            Statement::Call(_) => "call",
            Statement::Parallel { .. } => "parallel",
            Statement::Cache { .. } => "cache",
            Statement::Batch { .. } => "batch",
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Statement::Time { span, .. }
            | Statement::Parallel { span, .. }
            | Statement::Cache { span, .. }
            | Statement::Batch { span, .. } => *span,
            Statement::Call(c) => c.span,
        }
    }
}

/// A service-time specification as written.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeSpec {
    /// `exp(1ms)`, `lognormal(mean 6ms, cv 0.8)`, `empirical("file.csv")`
    Dist {
        name: Ident,
        args: Vec<DistArg>,
        span: Span,
    },
    /// `p50 3ms p99 14ms`
    Fitted {
        low: (Stat, Quantity),
        high: (Stat, Quantity),
        span: Span,
    },
    /// `2ms + 0.3ms per item`
    Linear {
        base: Quantity,
        per_item: Quantity,
        span: Span,
    },
    /// A bare `5ms`.
    Bare(Quantity),
}

impl TimeSpec {
    pub fn span(&self) -> Span {
        match self {
            TimeSpec::Dist { span, .. }
            | TimeSpec::Fitted { span, .. }
            | TimeSpec::Linear { span, .. } => *span,
            TimeSpec::Bare(q) => q.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DistArg {
    pub name: Option<Ident>,
    pub value: ArgValue,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    Quantity(Quantity),
    Str(Str),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub target: Path,
    pub modifiers: Vec<CallModifier>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CallModifier {
    When {
        ratio: Quantity,
        span: Span,
    },
    Times {
        count: Quantity,
        parallel: bool,
        span: Span,
    },
    Async {
        span: Span,
    },
    Timeout {
        time: Quantity,
        span: Span,
    },
    Retries {
        count: Quantity,
        span: Span,
    },
}

impl CallModifier {
    pub fn keyword(&self) -> &'static str {
        match self {
            CallModifier::When { .. } => "when",
            CallModifier::Times { .. } => "times",
            CallModifier::Async { .. } => "async",
            CallModifier::Timeout { .. } => "timeout",
            CallModifier::Retries { .. } => "retries",
        }
    }

    pub fn span(&self) -> Span {
        match self {
            CallModifier::When { span, .. }
            | CallModifier::Times { span, .. }
            | CallModifier::Async { span }
            | CallModifier::Timeout { span, .. }
            | CallModifier::Retries { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Deploy {
    pub target: Ident,
    pub settings: Vec<Setting>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub key: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Str),
    Money(Money),
    Quantity(Quantity),
    Ident(Ident),
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Str(s) => s.span,
            Value::Money(m) => m.span,
            Value::Quantity(q) => q.span,
            Value::Ident(i) => i.span,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: Ident,
    pub items: Vec<ScenarioItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioItem {
    Load {
        factor: Quantity,
        workload: Option<Ident>,
        span: Span,
    },
    Fail {
        count: Quantity,
        what: Ident,
        of: Option<Ident>,
        span: Span,
    },
    Set {
        target: Path,
        value: Value,
        span: Span,
    },
    ExpectSlo {
        span: Span,
    },
    Expect {
        subject: Path,
        op: Comparator,
        bound: Bound,
        span: Span,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparator {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    Quantity(Quantity),
    Money(Money),
}
