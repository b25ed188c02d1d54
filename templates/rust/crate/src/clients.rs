//! One typed client per downstream service, one method per endpoint the design calls. Each
//! call passes the [`Policy`] the design declares for it (`timeout`, `retries`).

use crate::config::Config;
use serde_json::Value;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// A call's timeout (per attempt) and how many times it is retried after a failure that may
/// pass: a timeout, a connection error, or a 5xx answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub timeout: Option<Duration>,
    pub retries: u32,
}

impl Policy {
    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent; waits
    /// 10 ms, 20 ms, 40 ms … (at most 640 ms) between attempts.
    pub async fn run<T, F, Fut>(self, mut attempt: F) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut retried = 0;
        loop {
            let result = match self.timeout {
                Some(t) => tokio::time::timeout(t, attempt())
                    .await
                    .unwrap_or(Err(CallError::Timeout(t))),
                None => attempt().await,
            };
            match result {
                Err(e) if retried < self.retries && e.retryable() => {
                    retried += 1;
                    tokio::time::sleep(Duration::from_millis(10 << retried.min(7))).await;
                }
                r => return r,
            }
        }
    }
}

#[derive(Debug)]
pub enum CallError {
    /// The callee's `SERVICE_URL` is unset or empty.
    NoAddress(&'static str),
    Timeout(Duration),
    Http(reqwest::Error),
    Status(u16),
    Io(std::io::Error),
}

impl CallError {
    fn retryable(&self) -> bool {
        match self {
            CallError::NoAddress(_) => false,
            CallError::Timeout(_) | CallError::Io(_) => true,
            CallError::Http(e) => e.is_timeout() || e.is_connect() || e.is_request(),
            CallError::Status(s) => *s >= 500,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NoAddress(env) => write!(f, "no address: set {env}"),
            CallError::Timeout(t) => write!(f, "timed out after {} ms", t.as_millis()),
            CallError::Http(e) => write!(f, "{e}"),
            CallError::Status(s) => write!(f, "answered {s}"),
            CallError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CallError {}

impl axum::response::IntoResponse for CallError {
    fn into_response(self) -> axum::response::Response {
        let status = match self {
            CallError::Timeout(_) => axum::http::StatusCode::GATEWAY_TIMEOUT,
            _ => axum::http::StatusCode::BAD_GATEWAY,
        };
        tracing::warn!(error = %self, "downstream call failed");
        (status, self.to_string()).into_response()
    }
}

/// A callee's addresses, one per shard: a request goes to the shard its body hashes to (route
/// by your own key instead where the data is partitioned by one).
#[derive(Clone, Debug)]
pub struct Addresses {
    env: &'static str,
    all: Vec<String>,
}

impl Addresses {
    pub fn new(env: &'static str, all: Vec<String>) -> Addresses {
        Addresses { env, all }
    }

    pub fn pick(&self, key: &Value) -> Result<&str, CallError> {
        match self.all.len() {
            0 => Err(CallError::NoAddress(self.env)),
            1 => Ok(&self.all[0]),
            n => {
                let mut h = std::hash::DefaultHasher::new();
                key.to_string().hash(&mut h);
                Ok(&self.all[(h.finish() % n as u64) as usize])
            }
        }
    }
}

/// POSTs `body` as JSON to `base` + `path` under `policy`; the answer's JSON body.
pub async fn post(
    http: &reqwest::Client,
    url: String,
    body: &Value,
    policy: Policy,
) -> Result<Value, CallError> {
    let url = url.as_str();
    policy
        .run(|| async move {
            let response = http
                .post(url)
                .json(body)
                .send()
                .await
                .map_err(CallError::Http)?;
            let status = response.status();
            if !status.is_success() {
                return Err(CallError::Status(status.as_u16()));
            }
            response.json().await.map_err(CallError::Http)
        })
        .await
}

/// Opens a TCP connection to `address` (`scheme://host:port`) under `policy`: the service
/// is reachable. Replace with the callee's own driver (a database or broker client).
pub async fn connect(address: &str, policy: Policy) -> Result<tokio::net::TcpStream, CallError> {
    let host = address.split_once("://").map_or(address, |(_, h)| h);
    policy
        .run(|| async move {
            tokio::net::TcpStream::connect(host)
                .await
                .map_err(CallError::Io)
        })
        .await
}

/// Every downstream client.
pub struct Clients {
{% for cl in c.clients %}
    pub {{ cl.field|ident }}: {{ cl.type_name|ident }},
{% endfor %}
}

impl Clients {
    pub fn new({% if not c.clients %}_{% endif %}config: &Config) -> Result<Clients, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        // One connection pool, shared by the HTTP clients (unused when no callee speaks HTTP).
        let _ = &http;
        Ok(Clients {
{% for cl in c.clients %}
            {{ cl.field|ident }}: {{ cl.type_name|ident }} {
{% if cl.http %}
                http: http.clone(),
{% endif %}
                addresses: Addresses::new({{ cl.env }}, config.{{ cl.field|ident }}.clone()),
            },
{% endfor %}
        })
    }
}
{% for cl in c.clients %}

/// The `{{ cl.callee|ident }}` service ({% if cl.http %}HTTP, JSON bodies{% else %}TCP: bring its driver{% endif %}).
#[derive(Clone, Debug)]
pub struct {{ cl.type_name|ident }} {
{% if cl.http %}
    http: reqwest::Client,
{% endif %}
    addresses: Addresses,
}

impl {{ cl.type_name|ident }} {
{% for m in cl.methods %}
{% if not loop.first %}

{% endif %}
    /// `{{ cl.callee|ident }}.{{ m.endpoint|ident }}`.
{% if cl.http %}
    pub async fn {{ m.name|ident }}(&self, body: &Value, policy: Policy) -> Result<Value, CallError> {
        let base = self.addresses.pick(body)?;
        post(&self.http, format!("{base}{}", {{ m.path }}), body, policy).await
    }
{% else %}
    pub async fn {{ m.name|ident }}(&self, body: &Value, policy: Policy) -> Result<(), CallError> {
        connect(self.addresses.pick(body)?, policy).await.map(drop)
    }
{% endif %}
{% endfor %}
}
{% endfor %}
