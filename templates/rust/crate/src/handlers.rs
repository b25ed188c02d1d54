//! The routes: one handler per endpoint of the design, making the endpoint's calls in the
//! order it declares them (a `parallel` block concurrently, `async` calls without waiting),
//! each under its declared timeout and retries. `when` shares and the work itself are yours to
//! write: every call is made on every request.

use crate::State;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
{% macro invoke(x) -%}
{% set policy %}crate::clients::Policy { timeout: {% if x.timeout_ms is none %}None{% else %}Some(Duration::from_millis({{ x.timeout_ms }})){% endif %}, retries: {{ x.retries }} }{% endset -%}
{% if x.times == 1 -%}
state.clients.{{ x.field|ident }}.{{ x.method|ident }}(&body, {{ policy }})
{%- elif x.fanout -%}
async { futures::future::try_join_all((0..{{ x.times }}).map(|_| state.clients.{{ x.field|ident }}.{{ x.method|ident }}(&body, {{ policy }}))).await.map(drop) }
{%- else -%}
async { for _ in 0..{{ x.times }} { state.clients.{{ x.field|ident }}.{{ x.method|ident }}(&body, {{ policy }}).await?; } Ok::<(), crate::clients::CallError>(()) }
{%- endif %}
{%- endmacro %}

pub fn router(state: State) -> Router {
    Router::new()
{% for h in c.handlers %}
        .route({{ h.path }}, axum::routing::post({{ h.function|ident }}))
{% endfor %}
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}
{% for h in c.handlers %}

/// `{{ c.service|ident }}.{{ h.endpoint|ident }}`.
pub async fn {{ h.function|ident }}(
    axum::extract::State(state): axum::extract::State<State>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Result<axum::Json<serde_json::Value>, crate::clients::CallError> {
{% for g in h.groups %}
{% for x in g if x.is_async %}
    {
        // `async`: the caller does not wait.
        let state = state.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let call = {{ invoke(x) }};
            if let Err(e) = call.await {
                tracing::warn!(error = %e, callee = {{ x.callee }}, endpoint = {{ x.endpoint }}, "async call failed");
            }
        });
    }
{% endfor %}
{% set waited = g|rejectattr("is_async")|list %}
{% if waited|length == 1 %}
    {{ invoke(waited[0]) }}.await?;
{% elif waited|length > 1 %}
    tokio::try_join!(
{% for x in waited %}
        {{ invoke(x) }},
{% endfor %}
    )?;
{% endif %}
{% endfor %}
    let _ = &state;
    Ok(axum::Json(serde_json::json!({
        "service": {{ c.service }},
        "endpoint": {{ h.endpoint }},
        "request": body,
    })))
}
{% endfor %}

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: not while shutting down.
pub async fn readyz(axum::extract::State(state): axum::extract::State<State>) -> Response {
    if state.ready.load(Ordering::SeqCst) {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response()
    }
}

pub async fn metrics(axum::extract::State(state): axum::extract::State<State>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The design's health path{% if c.health is none %} (none besides `/healthz`){% endif %}, compared as text rather than routed, so
/// no character in it is read as route syntax; anything else is 404.
pub async fn fallback(uri: Uri) -> Response {
    const HEALTH: Option<&str> = {% if c.health is none %}None{% else %}Some({{ c.health }}){% endif %};
    if Some(uri.path()) == HEALTH {
        "ok".into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Counts every request and times it, by the route it matched.
async fn track(
    axum::extract::State(state): axum::extract::State<State>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let elapsed: Duration = start.elapsed();
    state
        .metrics
        .latency
        .with_label_values(&[endpoint.as_str()])
        .observe(elapsed.as_secs_f64());
    state
        .metrics
        .requests
        .with_label_values(&[endpoint.as_str(), response.status().as_str()])
        .inc();
    response
}
