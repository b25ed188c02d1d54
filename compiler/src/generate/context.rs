//! The design turned into what the templates read: one plain, validated record per deployed
//! unit (a service, or one shard of a sharded service), the network edges, the downstream
//! addresses. Names that become identifiers are checked here; every other user string stays
//! data, quoted by the template formatter (see `render.rs`).

use super::allocation::{Allocation, Placement, TARGET_MAX};
use crate::diagnostics::{Diagnostic, codes};
use crate::model::{Autoscale, Model, Protocol, Service, ServiceKind, Step};
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Serialize)]
pub struct Context {
    pub system: String,
    pub namespace: String,
    pub zones: u32,
    /// `COMPOSE_PROJECT_NAME`, when the design names one.
    pub project: Option<String>,
    pub units: Vec<Unit>,
    /// One network policy per deployed service.
    pub policies: Vec<Policy>,
}

#[derive(Debug, Serialize)]
pub struct Unit {
    /// The object name: the service, or `SERVICE-N` for shard N.
    pub name: String,
    pub service: String,
    pub shard: Option<u32>,
    pub kind: &'static str,
    /// `Deployment`, `StatefulSet` or `CronJob`.
    pub workload: &'static str,
    pub image: String,
    pub port: Option<u16>,
    pub probe: Probe,
    /// Seconds of start-up grace: the startup probe allows this long.
    pub startup_failures: Option<u32>,
    pub cpu: Option<String>,
    pub compose_cpus: Option<String>,
    pub memory: Option<String>,
    pub compose_memory: Option<String>,
    pub gpu: Option<GpuCtx>,
    pub replicas: u32,
    pub hpa: Option<Hpa>,
    /// `maxUnavailable` of the disruption budget; none for a single replica.
    pub pdb: bool,
    pub env: Vec<(String, String)>,
    pub secrets: Vec<SecretCtx>,
    pub labels: Vec<(String, String)>,
    /// Downstream addresses: `NAME_URL` → `scheme://host:port[,…]`.
    pub downstream: Vec<(String, String)>,
    pub depends_on: Vec<String>,
    /// A workload enters here: reachable from outside the namespace and published by compose.
    pub entry: bool,
    pub job: Option<JobCtx>,
}

#[derive(Debug, Serialize)]
pub struct Probe {
    /// `http`, `grpc` or `tcp`.
    pub kind: &'static str,
    pub path: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct GpuCtx {
    #[serde(rename = "type")]
    pub kind: String,
    pub count: u32,
}

#[derive(Debug, Serialize)]
pub struct Hpa {
    pub min: u32,
    pub max: u32,
    pub target_percent: u32,
}

#[derive(Debug, Serialize)]
pub struct SecretCtx {
    pub env: String,
    pub name: String,
    pub key: String,
}

#[derive(Debug, Serialize)]
pub struct JobCtx {
    pub schedule: String,
    pub deadline_s: u64,
}

#[derive(Debug, Serialize)]
pub struct Policy {
    pub service: String,
    /// Callers (services) allowed in, and whether anything outside may come in (an entry).
    pub from: Vec<String>,
    pub public: bool,
    pub port: Option<u16>,
    /// Callees (service, port).
    pub to: Vec<(String, u16)>,
    /// Calls an external service: egress to addresses outside the cluster's private ranges.
    pub external: bool,
}

/// Builds the context, or every reason it cannot be built.
pub fn build(model: &Model, alloc: &Allocation) -> Result<Context, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let system = model.system.clone().unwrap_or_default();
    let (namespace, zones, hpa) = match &model.deploy.kubernetes {
        Some(k) => (k.namespace.clone(), k.zones, k.autoscale == Autoscale::Hpa),
        None if crate::check::is_dns_label(&system) => (system.clone(), 1, false),
        None => (crate::check::to_dns_label(&system), 1, false),
    };
    let project = model
        .deploy
        .compose
        .as_ref()
        .and_then(|c| c.project.clone());
    if let Some(p) = &project {
        let ok = !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && p.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            errors.push(Diagnostic::new(
                codes::INVALID_K8S_NAME,
                format!("compose project `{p}` is not a valid project name"),
            )
            .help("compose project names are lowercase letters, digits, `-` and `_`, starting with a letter or digit"));
        }
    }
    let deployed: Vec<&Service> = model
        .services
        .iter()
        .filter(|s| s.kind.is_deployed())
        .collect();
    let edges = edges(model);
    let entries: BTreeSet<&str> = model
        .workloads
        .iter()
        .filter(|w| w.job.is_none())
        .map(|w| w.entry.service.as_str())
        .collect();
    for s in &deployed {
        validate(s, &edges, &mut errors);
    }
    let depends = acyclic(&edges.internal);
    let mut units = Vec::new();
    for s in &deployed {
        let Some(p) = alloc.services.get(&s.name) else {
            continue;
        };
        let job = if s.kind == ServiceKind::Job {
            match job(model, s) {
                Ok(j) => Some(j),
                Err(d) => {
                    errors.push(*d);
                    None
                }
            }
        } else {
            None
        };
        for shard in 0..s.shards {
            units.push(unit(
                model,
                s,
                p,
                shard,
                hpa,
                &edges,
                &depends,
                entries.contains(s.name.as_str()),
                job.as_ref(),
            ));
        }
    }
    let policies = deployed
        .iter()
        .map(|s| Policy {
            service: s.name.clone(),
            from: edges
                .internal
                .iter()
                .filter(|(_, t)| *t == s.name)
                .map(|(f, _)| f.clone())
                .collect(),
            public: entries.contains(s.name.as_str()),
            port: s.port,
            to: edges
                .internal
                .iter()
                .filter(|(f, _)| *f == s.name)
                .filter_map(|(_, t)| Some((t.clone(), model.service(t)?.port?)))
                .collect(),
            external: edges.external.contains(&s.name),
        })
        .collect();
    if errors.is_empty() {
        Ok(Context {
            system,
            namespace,
            zones,
            project,
            units,
            policies,
        })
    } else {
        Err(errors)
    }
}

/// Who connects to whom. A call from a `kind queue` service is a delivery: the consumer
/// connects to the broker, so the edge runs from the consumer to the queue.
#[derive(Default)]
struct Edges {
    internal: BTreeSet<(String, String)>,
    /// Deployed services that call an external one.
    external: BTreeSet<String>,
}

fn edges(model: &Model) -> Edges {
    let mut e = Edges::default();
    for s in model.services.iter().filter(|s| s.kind.is_deployed()) {
        let mut calls = Vec::new();
        for ep in &s.endpoints {
            collect_calls(&ep.steps, &mut calls);
        }
        for c in calls {
            let Some(t) = model.service(&c.service) else {
                continue;
            };
            if !t.kind.is_deployed() {
                e.external.insert(s.name.clone());
            } else if s.kind == ServiceKind::Queue {
                e.internal.insert((t.name.clone(), s.name.clone()));
            } else if t.name != s.name {
                e.internal.insert((s.name.clone(), t.name.clone()));
            }
        }
    }
    e
}

fn collect_calls<'a>(steps: &'a [Step], out: &mut Vec<&'a crate::model::Call>) {
    for s in steps {
        match s {
            Step::Call(c) => out.push(c),
            Step::Parallel { steps } => collect_calls(steps, out),
        }
    }
}

/// Start-up order for compose: each service waits for what it connects to, dropping an edge
/// that would close a cycle (compose refuses cyclic `depends_on`; async calls can form one).
fn acyclic(edges: &BTreeSet<(String, String)>) -> BTreeSet<(String, String)> {
    let mut kept: BTreeSet<(String, String)> = BTreeSet::new();
    for (f, t) in edges {
        if !reaches(&kept, t, f) {
            kept.insert((f.clone(), t.clone()));
        }
    }
    kept
}

fn reaches(edges: &BTreeSet<(String, String)>, from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n.clone()) {
            stack.extend(
                edges
                    .iter()
                    .filter(|(f, _)| *f == n)
                    .map(|(_, t)| t.clone()),
            );
        }
    }
    false
}

#[allow(clippy::too_many_arguments)]
fn unit(
    model: &Model,
    s: &Service,
    p: &Placement,
    shard: u32,
    autoscale: bool,
    edges: &Edges,
    depends: &BTreeSet<(String, String)>,
    entry: bool,
    job: Option<&JobCtx>,
) -> Unit {
    let name = unit_name(s, shard);
    let workload = match s.kind {
        ServiceKind::Database => "StatefulSet",
        ServiceKind::Job => "CronJob",
        _ => "Deployment",
    };
    let pinned = s.replicas.is_some_and(|r| r.pinned);
    let hpa = (autoscale
        && workload == "Deployment"
        && !pinned
        && p.max_replicas > p.replicas
        && s.cpu_cores.is_some())
    .then(|| Hpa {
        min: p.replicas,
        max: p.max_replicas,
        target_percent: (p.target_utilization.clamp(0.01, TARGET_MAX) * 100.0).round() as u32,
    });
    let probe = match (&s.health, s.protocol) {
        (Some(h), _) => Probe {
            kind: "http",
            path: Some(h.clone()),
        },
        (None, Protocol::Grpc) => Probe {
            kind: "grpc",
            path: None,
        },
        (None, _) => Probe {
            kind: "tcp",
            path: None,
        },
    };
    let downstream = edges
        .internal
        .iter()
        .filter(|(f, _)| *f == s.name)
        .filter_map(|(_, t)| {
            let t = model.service(t)?;
            let port = t.port?;
            let scheme = match t.protocol {
                Protocol::Http | Protocol::Grpc => "http",
                Protocol::Tcp => "tcp",
            };
            let urls: Vec<String> = (0..t.shards)
                .map(|i| format!("{scheme}://{}:{port}", unit_name(t, i)))
                .collect();
            Some((env_name(&t.name), urls.join(",")))
        })
        .collect();
    Unit {
        name,
        service: s.name.clone(),
        shard: (s.shards > 1).then_some(shard),
        kind: match s.kind {
            ServiceKind::Service => "service",
            ServiceKind::Database => "database",
            ServiceKind::Queue => "queue",
            ServiceKind::Job => "job",
            ServiceKind::External => "external",
        },
        workload,
        image: s.image.clone().unwrap_or_default(),
        port: s.port,
        probe,
        startup_failures: s.warmup_s.map(|w| (w / 10.0).ceil() as u32 + 3),
        cpu: s.cpu_cores.map(cpu_quantity),
        compose_cpus: s
            .cpu_cores
            .map(|c| format!("{}", (c * 1000.0).round() / 1000.0)),
        memory: s.memory_bytes.map(memory_quantity),
        compose_memory: s.memory_bytes.map(|b| format!("{b}b")),
        gpu: s.gpu.as_ref().map(|g| GpuCtx {
            kind: p.gpu.clone().unwrap_or_else(|| g.kind.clone()),
            count: g.count,
        }),
        replicas: p.replicas,
        pdb: p.replicas >= 2 && workload != "CronJob",
        hpa,
        env: choice_env(s),
        secrets: s
            .secrets
            .iter()
            .map(|x| SecretCtx {
                env: x.env.clone(),
                name: x.name.clone(),
                key: x.key.clone(),
            })
            .collect(),
        labels: s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        downstream,
        // A job has no health check to wait for.
        depends_on: depends
            .iter()
            .filter(|(f, _)| *f == s.name)
            .filter_map(|(_, t)| model.service(t).filter(|t| t.kind != ServiceKind::Job))
            .flat_map(|t| (0..t.shards).map(move |i| unit_name(t, i)))
            .collect(),
        entry,
        job: job.map(|j| JobCtx {
            schedule: j.schedule.clone(),
            deadline_s: j.deadline_s,
        }),
    }
}

/// The service's `env`, and what the planner chose for it (the model has the plan's choices
/// applied): `KENDALL_GPU_TYPE` with `gpu one_of`, `KENDALL_BATCH_MAX` with `batch max A..B`,
/// so the program runs as planned. A variable the design sets itself wins.
fn choice_env(s: &Service) -> Vec<(String, String)> {
    let mut env = s.env.clone();
    if let Some(g) = s.gpu.as_ref().filter(|_| !s.gpu_choices.is_empty()) {
        env.entry("KENDALL_GPU_TYPE".into())
            .or_insert_with(|| g.kind.clone());
    }
    if s.batch_choices().is_some()
        && let Some(b) = s.current().batch_max
    {
        env.entry("KENDALL_BATCH_MAX".into())
            .or_insert_with(|| b.to_string());
    }
    env.into_iter().collect()
}

fn unit_name(s: &Service, shard: u32) -> String {
    if s.shards > 1 {
        format!("{}-{shard}", s.name)
    } else {
        s.name.clone()
    }
}

/// `ranker-v2` → `RANKER_V2_URL`.
fn env_name(service: &str) -> String {
    format!("{}_URL", service.to_ascii_uppercase().replace('-', "_"))
}

/// Millicores, or whole cores when exact: `500m`, `2`.
fn cpu_quantity(cores: f64) -> String {
    let milli = (cores * 1000.0).round().max(1.0) as u64;
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{milli}m")
    }
}

/// The largest binary unit that divides the size: `16Gi`, `512Mi`, or bytes.
fn memory_quantity(bytes: u64) -> String {
    for (unit, size) in [
        ("Ti", 1u64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

/// A Kubernetes label value: at most 63 characters, alphanumerics with `-`, `_`, `.` inside.
pub fn is_label_value(v: &str) -> bool {
    let b = v.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
}

/// A DNS-1123 subdomain (Secret names): lowercase alphanumerics, `-` and `.`, at most 253.
fn is_subdomain(v: &str) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 253
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.'))
}

/// A container image reference: registry, path, tag and digest characters only. Quotes,
/// braces, `&`, `*`, `#` and control characters cannot appear in one.
fn is_image(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 512
        && v.as_bytes()[0].is_ascii_alphanumeric()
        && v.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'/' | b':' | b'@')
        })
}

/// An HTTP path a probe can request: visible ASCII without spaces, quotes or `#`.
fn is_probe_path(v: &str) -> bool {
    v.starts_with('/')
        && v.len() <= 1024
        && v.bytes()
            .all(|c| c.is_ascii_graphic() && !matches!(c, b'"' | b'\'' | b'#' | b'\\' | b'`'))
}

fn validate(s: &Service, edges: &Edges, errors: &mut Vec<Diagnostic>) {
    let name = &s.name;
    let mut bad = |code, message: String, help: &str| {
        errors.push(
            Diagnostic::new(code, message)
                .at(s.span, "in this service")
                .help(help.to_string()),
        );
    };
    match &s.image {
        None => bad(
            codes::MISSING_FIELD,
            format!("`{name}` has no `image` to deploy"),
            "add `image \"REGISTRY/NAME:TAG\"`, or make it `kind external`",
        ),
        Some(i) if !is_image(i) => bad(
            codes::VALUE_OUT_OF_RANGE,
            format!(
                "image `{}` of `{name}` is not an image reference",
                i.escape_debug()
            ),
            "an image reference has letters, digits and `. - _ / : @` only, such as `ghcr.io/acme/api:1.8.0`",
        ),
        Some(_) => {}
    }
    if let Some(h) = &s.health {
        if !is_probe_path(h) {
            bad(
                codes::VALUE_OUT_OF_RANGE,
                format!(
                    "health path `{}` of `{name}` cannot be probed",
                    h.escape_debug()
                ),
                "write a plain http path such as `/healthz`: visible characters, no spaces or quotes",
            );
        }
    }
    if s.port.is_none() && edges.internal.iter().any(|(_, t)| t == name) {
        bad(
            codes::MISSING_FIELD,
            format!("`{name}` is called but has no `port`"),
            "add `port N`: callers need an address to connect to",
        );
    }
    if s.shards > 1 && name.len() + 1 + (s.shards - 1).to_string().len() > 63 {
        bad(
            codes::INVALID_K8S_NAME,
            format!("the shards of `{name}` get names longer than 63 characters"),
            "shorten the service name",
        );
    }
    for (k, v) in &s.labels {
        if k.len() > 63 || !is_label_value(k) || k.is_empty() {
            bad(
                codes::INVALID_K8S_NAME,
                format!(
                    "label key `{}` of `{name}` is not a kubernetes label name",
                    k.escape_debug()
                ),
                "label names are at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
            );
        }
        if !is_label_value(v) {
            bad(
                codes::INVALID_K8S_NAME,
                format!(
                    "label value `{}` of `{name}` is not a kubernetes label value",
                    v.escape_debug()
                ),
                "label values are at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit",
            );
        }
    }
    for x in &s.secrets {
        let secret = &x.name;
        if !is_subdomain(secret) {
            bad(
                codes::INVALID_K8S_NAME,
                format!(
                    "secret `{}` of `{name}` is not a kubernetes secret name",
                    secret.escape_debug()
                ),
                "secret names are lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
            );
        }
        if x.key.is_empty()
            || x.key.len() > 253
            || !x
                .key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            bad(
                codes::INVALID_K8S_NAME,
                format!(
                    "secret key `{}` of `{name}` is not a kubernetes secret key",
                    x.key.escape_debug()
                ),
                "secret keys are letters, digits, `-`, `_` and `.`",
            );
        }
    }
    let c_ident = |k: &str| {
        k.as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    };
    for k in s.env.keys().chain(s.secrets.iter().map(|x| &x.env)) {
        if !c_ident(k) {
            bad(
                codes::VALUE_OUT_OF_RANGE,
                format!("environment variable `{k}` of `{name}` is not a shell variable name"),
                "use letters, digits and `_` only: compose reads `-` in `${A-B}` as a default value",
            );
        }
    }
    if let Some(g) = &s.gpu {
        if g.kind.is_empty() || !is_label_value(&g.kind) {
            bad(
                codes::INVALID_K8S_NAME,
                format!(
                    "gpu type `{}` of `{name}` cannot be a node label value",
                    g.kind
                ),
                "gpu types start and end with a letter or digit, such as `nvidia-l4`",
            );
        }
    }
}

/// The cron schedule of the workload that runs a job service.
fn job(model: &Model, s: &Service) -> Result<JobCtx, Box<Diagnostic>> {
    let w = model
        .workloads
        .iter()
        .find(|w| w.entry.service == s.name && w.job.is_some());
    let Some((w, j)) = w.and_then(|w| Some((w, w.job.as_ref()?))) else {
        return Err(Box::new(
            Diagnostic::new(
                codes::MISSING_FIELD,
                format!("job `{}` has no workload that runs it", s.name),
            )
            .at(s.span, "never scheduled")
            .help("add a workload with `entry`, `every`, `work` and `deadline` for it"),
        ));
    };
    let Some(schedule) = cron(j.every_s) else {
        return Err(Box::new(
            Diagnostic::new(
                codes::VALUE_OUT_OF_RANGE,
                format!(
                    "workload `{}` runs every {} s, which no cron schedule repeats exactly",
                    w.name, j.every_s
                ),
            )
            .at(w.span, "its `every`")
            .help("use a period that divides an hour or a day (`15min`, `6h`, `24h`), or a week"),
        ));
    };
    Ok(JobCtx {
        schedule,
        deadline_s: j.deadline_s.ceil() as u64,
    })
}

fn cron(every_s: f64) -> Option<String> {
    if every_s < 60.0 || every_s % 60.0 != 0.0 {
        return None;
    }
    let m = (every_s / 60.0) as u64;
    Some(match m {
        1 => "* * * * *".into(),
        m if m < 60 && 60 % m == 0 => format!("*/{m} * * * *"),
        60 => "0 * * * *".into(),
        m if m % 60 == 0 && m < 1440 && 1440 % m == 0 => format!("0 */{} * * *", m / 60),
        1440 => "0 0 * * *".into(),
        10080 => "0 0 * * 0".into(),
        _ => return None,
    })
}
