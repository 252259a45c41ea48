//! The HTTP listener: `/healthz`, Prometheus `/metrics` and the presentity's watcher API
//! ([`crate::presence::api`]); XCAP, the admin API and the web client join it later.

use crate::context::ServerContext;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The Prometheus text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn app(metrics: PrometheusHandle, ctx: Arc<ServerContext>) -> axum::Router {
    crate::presence::api::router(ctx)
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/metrics",
            get(move || {
                let body = metrics.render();
                async move { ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], body) }
            }),
        )
}

/// Serves until `shutdown` completes, then finishes the requests in progress.
pub async fn serve(
    listener: TcpListener,
    metrics: PrometheusHandle,
    ctx: Arc<ServerContext>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(metrics, ctx))
        .with_graceful_shutdown(shutdown)
        .await
}
