//! The checked, typed, SI-normalised design: the contract every later stage (and
//! `kendall check --emit model`) reads. Times are seconds, rates requests per second, memory
//! bytes, cpu cores, money dollars per hour. See `docs/model-json.md`.

pub mod choice;
pub mod graph;

use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the model JSON; bumped on any change that is not a pure addition.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Model {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The system's name; `None` for a library module.
    pub system: Option<String>,
    pub pricing: Pricing,
    pub cluster: Cluster,
    pub budget_per_hour: Option<f64>,
    pub services: Vec<Service>,
    pub workloads: Vec<Workload>,
    pub deploy: Deploy,
    pub scenarios: Vec<Scenario>,
}

impl Model {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pricing {
    pub cpu_per_core_hour: Option<f64>,
    pub memory_per_gib_hour: Option<f64>,
    /// Per GPU-hour, by GPU type.
    pub gpu_per_hour: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cluster {
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    pub gpus: BTreeMap<String, u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    Service,
    External,
    Queue,
    Database,
    Job,
}

impl ServiceKind {
    pub const NAMES: &'static [&'static str] = &["service", "external", "queue", "database", "job"];

    pub fn parse(s: &str) -> Option<ServiceKind> {
        Some(match s {
            "service" => ServiceKind::Service,
            "external" => ServiceKind::External,
            "queue" => ServiceKind::Queue,
            "database" => ServiceKind::Database,
            "job" => ServiceKind::Job,
            _ => return None,
        })
    }

    /// Everything but external services runs in the cluster.
    pub fn is_deployed(self) -> bool {
        self != ServiceKind::External
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Grpc,
    Tcp,
}

impl Protocol {
    pub const NAMES: &'static [&'static str] = &["http", "grpc", "tcp"];

    pub fn parse(s: &str) -> Option<Protocol> {
        Some(match s {
            "http" => Protocol::Http,
            "grpc" => Protocol::Grpc,
            "tcp" => Protocol::Tcp,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    RoundRobin,
    Random,
    LeastRequest,
    Shared,
}

impl Balance {
    pub const NAMES: &'static [&'static str] =
        &["round_robin", "random", "least_request", "shared"];

    pub fn parse(s: &str) -> Option<Balance> {
        Some(match s {
            "round_robin" => Balance::RoundRobin,
            "random" => Balance::Random,
            "least_request" => Balance::LeastRequest,
            "shared" => Balance::Shared,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gpu {
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
}

/// Replica bounds per shard; `min == max` when pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Replicas {
    pub min: u32,
    pub max: u32,
    pub pinned: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Secret {
    /// The environment variable the secret is exposed as.
    pub env: String,
    /// The secret's name in the cluster.
    pub name: String,
    /// The key within that secret.
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Service {
    pub name: String,
    /// Where the name is written, for diagnostics of later stages (not in the JSON).
    #[serde(skip)]
    pub span: crate::source::Span,
    pub kind: ServiceKind,
    /// The templates this service extends, nearest first.
    pub extends: Vec<String>,
    pub image: Option<String>,
    pub port: Option<u16>,
    pub protocol: Protocol,
    pub health: Option<String>,
    pub warmup_s: Option<f64>,
    pub cpu_cores: Option<f64>,
    pub memory_bytes: Option<u64>,
    /// The GPU type in use: the design's, or the first of its `one_of` until a plan chooses.
    pub gpu: Option<Gpu>,
    /// `gpu one_of(…)`: the types the planner chooses from, as written (empty without a choice).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpu_choices: Vec<String>,
    /// Requests one replica serves at once (for batching services: model instances).
    pub workers: u32,
    /// Whether a worker stays held while its request waits on downstream calls.
    pub workers_blocking: bool,
    /// `None` for external services, which are not deployed.
    pub replicas: Option<Replicas>,
    pub shards: u32,
    pub balance: Balance,
    pub env: BTreeMap<String, String>,
    pub secrets: Vec<Secret>,
    pub labels: BTreeMap<String, String>,
    pub cost_per_hour: Option<f64>,
    /// Written in the short form: one endpoint named after the service.
    pub short_form: bool,
    pub endpoints: Vec<Endpoint>,
}

impl Service {
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    pub name: String,
    /// Own work per request (per batch for batching endpoints), on the GPU type in use.
    pub time: ServiceTime,
    /// With a GPU choice: the time on each type of the choice (its `time on TYPE`, else the
    /// endpoint's `time`). Empty without a choice.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub gpu_times: BTreeMap<String, ServiceTime>,
    pub cache: Option<Cache>,
    pub batch: Option<Batch>,
    /// Calls in the order written.
    pub steps: Vec<Step>,
}

/// A service-time distribution, in seconds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum ServiceTime {
    Exp {
        mean_s: f64,
    },
    Const {
        value_s: f64,
    },
    Lognormal {
        mean_s: f64,
        cv: f64,
    },
    Gamma {
        mean_s: f64,
        cv: f64,
    },
    Uniform {
        low_s: f64,
        high_s: f64,
    },
    /// Fitted from two percentiles; `p_low`/`p_high` are probabilities (0.5, 0.99).
    Fitted {
        p_low: f64,
        low_s: f64,
        p_high: f64,
        high_s: f64,
    },
    Empirical {
        file: String,
        samples_s: Vec<f64>,
    },
    /// The time of a batch of `n` requests: `base_s + per_item_s * n`, deterministic.
    Batch {
        base_s: f64,
        per_item_s: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cache {
    pub hit_ratio: f64,
    /// Time to answer a hit; the endpoint's own time and calls are skipped.
    pub hit_time: ServiceTime,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Batch {
    /// The batch max in use: the design's, or the lower bound of its range until a plan
    /// chooses.
    pub max: u32,
    /// `batch max A..B`: the values the planner tries (powers of two within the range, and
    /// A and B), ascending. Empty without a range.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub max_choices: Vec<u32>,
    /// How long the oldest queued request may wait for a fuller batch; 0 is greedy.
    pub wait_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Call(Call),
    /// Run concurrently; continue when all are done.
    Parallel {
        steps: Vec<Step>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    pub service: String,
    pub endpoint: String,
    /// Share of requests that make this call (`when`).
    pub probability: f64,
    /// How many calls (`times`), one after another unless `fanout`.
    pub times: u32,
    /// `times N parallel`: the N calls run concurrently.
    pub fanout: bool,
    /// The caller does not wait: `async`, and every delivery of a `kind queue` service.
    #[serde(rename = "async")]
    pub is_async: bool,
    pub timeout_s: Option<f64>,
    pub retries: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub service: String,
    /// `None` for a job service, which has no endpoints.
    pub endpoint: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "process", rename_all = "snake_case")]
pub enum Arrivals {
    Poisson,
    /// Squared coefficient of variation of inter-arrival times.
    Bursty {
        scv: f64,
    },
    /// Replayed from a file of arrival timestamps in seconds; figures measured from it.
    Trace {
        file: String,
        arrivals: u64,
        rate_rps: f64,
        scv: f64,
    },
    /// One arrival per period: job workloads (`every`).
    Periodic {
        every_s: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slo {
    /// `mean`, `p50`, `p99.9`, … as written.
    pub stat: String,
    /// The probability for a percentile (0.99); `None` for the mean.
    pub quantile: Option<f64>,
    pub target_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Job {
    pub every_s: f64,
    pub work: f64,
    /// `gpu-hours` or `cpu-hours`.
    pub work_unit: String,
    pub deadline_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    pub name: String,
    /// Where the name is written (not in the JSON).
    #[serde(skip)]
    pub span: crate::source::Span,
    pub entry: Target,
    pub rate_rps: f64,
    pub arrivals: Arrivals,
    pub slos: Vec<Slo>,
    pub job: Option<Job>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Deploy {
    pub kubernetes: Option<Kubernetes>,
    pub compose: Option<Compose>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Autoscale {
    Hpa,
    None,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Kubernetes {
    pub namespace: String,
    pub zones: u32,
    pub autoscale: Autoscale,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compose {
    pub project: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    pub name: String,
    pub steps: Vec<ScenarioStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ScenarioStep {
    /// Multiply a workload's rate (all workloads when `workload` is `None`).
    Load {
        factor: f64,
        workload: Option<String>,
    },
    FailZones {
        count: u32,
    },
    FailReplicas {
        count: u32,
        service: String,
    },
    Set {
        service: String,
        field: String,
        value: f64,
    },
    ExpectSlo,
    Expect {
        subject: String,
        metric: String,
        op: String,
        bound: f64,
        unit: String,
    },
}
