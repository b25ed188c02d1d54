// Paths through the library's name: a service may be called `metrics` or `config` too.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = match {{ c.lib|ident }}::config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let clients = match {{ c.lib|ident }}::clients::Clients::new(&config) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("http client: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let port = config.port;
    let state = Arc::new({{ c.lib|ident }}::AppState {
        config,
        clients,
        metrics: {{ c.lib|ident }}::metrics::Metrics::new(),
        ready: AtomicBool::new(true),
    });
    let app = {{ c.lib|ident }}::handlers::router(state.clone());
    let listener = match TcpListener::bind(("0.0.0.0", port)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("cannot listen on port {port}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    tracing::info!(port, "listening");
    let shutdown = {
        let state = state.clone();
        async move {
            stop_signal().await;
            tracing::info!("shutting down: draining requests");
            state.ready.store(false, Ordering::SeqCst);
        }
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!("server: {e}");
        return std::process::ExitCode::from(1);
    }
    std::process::ExitCode::SUCCESS
}

/// SIGTERM (what kubernetes and docker send) or Ctrl-C.
async fn stop_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
