//! The optional HTTP endpoint serving the pool's metrics (`burrow.metrics.addr`).

use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Response, Server};

use crate::error::Error;
use crate::observe::stats::Counters;

/// Serves `GET /metrics` until dropped.
pub(crate) struct MetricsServer {
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` (e.g. `127.0.0.1:9464`) at once, so a bad or busy address fails pool creation.
    pub fn start(addr: &str, counters: Arc<Counters>) -> Result<Self, Error> {
        let server = Server::http(addr).map_err(|e| Error::Metrics {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        let server = Arc::new(server);
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("burrow-metrics".into())
            .spawn(move || {
                let content_type =
                    Header::from_bytes("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                        .expect("static header is valid");
                for request in serving.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("");
                    let response = if path == "/metrics" || path == "/" {
                        let body = counters
                            .metrics
                            .as_ref()
                            .map(|m| m.text())
                            .unwrap_or_default();
                        Response::from_string(body).with_header(content_type.clone())
                    } else {
                        Response::from_string("not found; metrics are at /metrics\n")
                            .with_status_code(404)
                    };
                    let _ = request.respond(response);
                }
            })
            .map_err(|e| Error::Thread(e.to_string()))?;
        tracing::info!(%addr, "serving metrics at /metrics");
        Ok(Self {
            server,
            thread: Some(thread),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.server_addr().to_ip()
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
