//! A local HTTP server for the tests of plugins' outbound requests, on
//! 127.0.0.1, over plain TCP or TLS: `/hello` answers the body it was
//! started with, `/slow` does not answer for 120 s, `/huge` is 2 MiB,
//! `/redirect?to=<url>` is a 302 there, anything else a 404. It counts the
//! connections it accepts and the requests it answers (over TLS, only
//! those that got through the handshake).

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::ServerConfig;

/// A running origin.
pub struct Origin {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl Origin {
    /// Plain HTTP; `/hello` answers `hello`.
    pub async fn start(hello: &'static str) -> Self {
        Self::serve(hello, None).await
    }

    /// HTTPS with `tls`; `/hello` answers `hello`.
    pub async fn start_tls(hello: &'static str, tls: ServerConfig) -> Self {
        Self::serve(hello, Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls)))).await
    }

    async fn serve(hello: &'static str, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (accepted, answered) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (tls, answered) = (tls.clone(), answered.clone());
                tokio::spawn(async move {
                    match tls {
                        None => http1(stream, hello, answered).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                http1(stream, hello, answered).await;
                            }
                        }
                    }
                });
            }
        });
        Self {
            port,
            connections,
            requests,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn http1<S>(stream: S, hello: &'static str, answered: Arc<AtomicUsize>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        answered.fetch_add(1, Ordering::SeqCst);
        async move { Ok::<_, Infallible>(answer(&req, hello).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn answer(
    req: &Request<hyper::body::Incoming>,
    hello: &'static str,
) -> Response<Full<Bytes>> {
    match req.uri().path() {
        "/hello" => Response::new(Full::new(Bytes::from_static(hello.as_bytes()))),
        "/slow" => {
            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
            Response::new(Full::new(Bytes::new()))
        }
        "/huge" => Response::new(Full::new(Bytes::from(vec![b'x'; 2 << 20]))),
        "/redirect" => {
            let to = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("to="))
                .unwrap_or("/hello")
                .to_owned();
            Response::builder()
                .status(302)
                .header("location", to)
                .body(Full::new(Bytes::new()))
                .unwrap()
        }
        _ => Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    }
}
