//! Outbound HTTP for plugins: berth's `wasi:http` hooks.
//!
//! Every request a plugin sends through `wasi:http/outgoing-handler` comes
//! here, and is sent only if the manifest's `[grants] http` lists its host
//! and port, its scheme is https (or the operator allows plain http), and
//! the addresses its host resolves to are public (or listed in `[sandbox]
//! allow_private_hosts`). berth resolves the name itself and connects to
//! the address it checked, so there is no second lookup to rebind. Each
//! request is bounded: connect, first-byte and between-bytes timeouts
//! (the guest's own options, capped); a response body cap; a few requests
//! in flight per call. None outlives its call: the call's deadline ends
//! the call wherever it waits (`invoke`), and dropping the store drops
//! the connections. A refusal is a
//! wasi-http error code in the plugin and a warning in the host log.

use super::netrule::{HostPattern, IpNet, literal_ip};
use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::rustls;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Most outgoing requests one call may have in flight (until the response
/// body is finished or dropped).
pub(crate) const MAX_IN_FLIGHT: usize = 8;
/// Longest connect (and TLS handshake) a guest may ask for.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the response head a guest may ask for.
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait between body frames a guest may ask for.
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

/// What one plugin's outbound HTTP may do.
#[derive(Debug, Default)]
pub(crate) struct HttpRules {
    /// The manifest's `[grants] http`.
    pub(crate) grants: Vec<HostPattern>,
    /// `[sandbox] allow_private_hosts`.
    pub(crate) allow_private: Vec<IpNet>,
    /// `[sandbox] allow_plain_http`.
    pub(crate) allow_plain_http: bool,
    /// `[limits] max_http_response_kb`, in bytes.
    pub(crate) max_body: usize,
}

impl HttpRules {
    fn refuses(&self, ip: std::net::IpAddr) -> Option<&'static str> {
        let why = super::netrule::internal(ip)?;
        (!self.allow_private.iter().any(|n| n.contains(ip))).then_some(why)
    }
}

/// The `wasi:http` hooks of one store (one call).
pub(crate) struct Outbound {
    rules: Arc<HttpRules>,
    plugin: Arc<str>,
    /// The tool being called, when the call is a tool call.
    pub(crate) tool: Option<Arc<str>>,
    in_flight: Arc<Semaphore>,
}

impl Outbound {
    pub(crate) fn new(rules: Arc<HttpRules>, plugin: Arc<str>) -> Self {
        Self {
            rules,
            plugin,
            tool: None,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let job = Job {
            rules: self.rules.clone(),
            who: Who {
                plugin: self.plugin.clone(),
                tool: self.tool.clone(),
                target: String::new(),
            },
            permit: self.in_flight.clone().try_acquire_owned().ok(),
        };
        Box::new(job.send(request, options.unwrap_or_default()))
    }
}

/// Who sent a request where, for the host log.
#[derive(Clone)]
struct Who {
    plugin: Arc<str>,
    tool: Option<Arc<str>>,
    target: String,
}

impl Who {
    fn refuse(&self, error: Error, reason: &str) -> Error {
        tracing::warn!(
            plugin = &*self.plugin,
            tool = self.tool.as_deref().unwrap_or("-"),
            target = %self.target,
            reason,
            "outbound HTTP request refused; nothing was sent"
        );
        error
    }
}

struct Job {
    rules: Arc<HttpRules>,
    who: Who,
    permit: Option<OwnedSemaphorePermit>,
}

impl Job {
    /// `asked` (the guest's), capped at `cap`.
    fn limit(asked: Option<Duration>, cap: Duration) -> Duration {
        asked.unwrap_or(cap).min(cap)
    }

    async fn send(
        mut self,
        mut request: http::Request<WasiBody>,
        options: RequestOptions,
    ) -> Result<
        (
            http::Response<WasiBody>,
            Box<dyn Future<Output = Result<(), Error>> + Send>,
        ),
        Error,
    > {
        let uri = request.uri().clone();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Error::HttpRequestUriInvalid),
        };
        let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let default_port = if https { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        self.who.target = match literal_ip(&host) {
            Some(std::net::IpAddr::V6(ip)) => {
                format!("{}://[{ip}]:{port}", uri.scheme_str().unwrap_or(""))
            }
            _ => format!("{}://{host}:{port}", uri.scheme_str().unwrap_or("")),
        };
        let who = self.who.clone();
        if !https && !self.rules.allow_plain_http {
            return Err(who.refuse(
                Error::HttpRequestDenied,
                "plain http is not allowed (berth.toml [sandbox] allow_plain_http)",
            ));
        }
        if !self
            .rules
            .grants
            .iter()
            .any(|g| g.matches(&host, port, default_port))
        {
            return Err(who.refuse(
                Error::HttpRequestDenied,
                "host and port are not in the manifest's [grants] http",
            ));
        }
        let Some(permit) = self.permit.take() else {
            return Err(who.refuse(
                Error::ConnectionLimitReached,
                "too many requests in flight in this call",
            ));
        };
        let connect_timeout = Self::limit(options.connect_timeout, CONNECT_TIMEOUT);
        let addrs = self.resolve(&host, port, connect_timeout).await?;
        let stream = connect(&addrs, connect_timeout).await?;
        let io: Box<dyn Io> = if https {
            let name = match literal_ip(&host) {
                Some(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
                None => rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|_| Error::HttpRequestUriInvalid)?,
            };
            let connector = tokio_rustls::TlsConnector::from(tls_config()?);
            let tls = tokio::time::timeout(connect_timeout, connector.connect(name, stream))
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(Error::Tls)?;
            Box::new(tls)
        } else {
            Box::new(stream)
        };
        let (mut sender, conn) = tokio::time::timeout(
            connect_timeout,
            hyper::client::conn::http1::handshake(TokioIo::new(io)),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
        // The request line carries the path only (no proxy in between).
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
        let first_byte = Self::limit(options.first_byte_timeout, FIRST_BYTE_TIMEOUT);
        // The connection is driven here until the response head arrives,
        // then by wasi-http's task for the body (no task of our own).
        let mut conn = Box::pin(conn);
        let mut ended: Option<Result<(), hyper::Error>> = None;
        let send = sender.send_request(request);
        tokio::pin!(send);
        let head = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = send.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            if ended.is_none()
                && let Poll::Ready(r) = conn.as_mut().poll(cx)
            {
                ended = Some(r);
                return send.as_mut().poll(cx);
            }
            Poll::Pending
        });
        let response = tokio::time::timeout(first_byte, head)
            .await
            .map_err(|_| Error::HttpResponseTimeout)??;
        let between = Self::limit(options.between_bytes_timeout, BETWEEN_BYTES_TIMEOUT);
        let max_body = self.rules.max_body;
        let response = response.map(|incoming| {
            Capped {
                incoming,
                left: max_body,
                limit: max_body,
                between,
                timer: Box::pin(tokio::time::sleep(between)),
                done: false,
                who,
                _permit: permit,
            }
            .boxed_unsync()
        });
        let io = async move {
            match ended {
                Some(r) => r.map_err(Error::from),
                None => conn.await.map_err(Error::from),
            }
        };
        Ok((response, Box::new(io)))
    }

    /// The addresses of `host` that may be reached: refused when none.
    async fn resolve(
        &self,
        host: &str,
        port: u16,
        within: Duration,
    ) -> Result<Vec<SocketAddr>, Error> {
        let all: Vec<SocketAddr> = match literal_ip(host) {
            Some(ip) => vec![SocketAddr::new(ip, port)],
            None => tokio::time::timeout(within, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| Error::DnsTimeout)?
                .map_err(|e| Error::DnsError {
                    rcode: Some(e.to_string()),
                    info_code: None,
                })?
                .collect(),
        };
        let mut refused = None;
        let allowed: Vec<SocketAddr> = all
            .iter()
            .filter(|a| match self.rules.refuses(a.ip()) {
                Some(why) => {
                    refused.get_or_insert((a.ip(), why));
                    false
                }
                None => true,
            })
            .copied()
            .collect();
        match (allowed.is_empty(), refused) {
            (false, _) => Ok(allowed),
            (true, Some((ip, why))) => Err(self.who.refuse(
                Error::DestinationIpProhibited,
                &format!(
                    "{ip} is a {why} address (list it in berth.toml [sandbox] allow_private_hosts to allow it)"
                ),
            )),
            (true, None) => Err(Error::DestinationNotFound),
        }
    }
}

/// Connects to the first of `addrs` that answers.
async fn connect(addrs: &[SocketAddr], within: Duration) -> Result<TcpStream, Error> {
    let attempt = async {
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Error::ConnectionRefused
            }
            Some(e) => Error::Connect(e),
            None => Error::DestinationNotFound,
        })
    };
    tokio::time::timeout(within, attempt)
        .await
        .map_err(|_| Error::ConnectionTimeout)?
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// The TLS client configuration: the system's root certificates, ring.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "cannot load a system root certificate");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("no system root certificates found; outbound https will fail");
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(|e| Error::InternalError(Some(format!("TLS configuration: {e}"))))
}

/// A response body with the cap and the between-bytes timeout; holds the request's in-flight permit.
struct Capped {
    incoming: Incoming,
    left: usize,
    limit: usize,
    between: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
    who: Who,
    _permit: OwnedSemaphorePermit,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if data.len() > this.left {
                        this.done = true;
                        tracing::warn!(
                            plugin = &*this.who.plugin,
                            tool = this.who.tool.as_deref().unwrap_or("-"),
                            target = %this.who.target,
                            "outbound HTTP response cut off: the body is over {} KiB (berth.toml [limits] max_http_response_kb)",
                            this.limit >> 10
                        );
                        let error = Error::HttpResponseBodySize(Some(this.limit as u64));
                        return Poll::Ready(Some(Err(error)));
                    }
                    this.left -= data.len();
                }
                let next = tokio::time::Instant::now() + this.between;
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(Error::from(e))))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.incoming.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;

    fn request(url: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Request::get(url).body(body).unwrap()
    }

    fn outbound(grants: &[&str], allow_private: &[&str]) -> Outbound {
        let rules = HttpRules {
            grants: grants
                .iter()
                .map(|g| HostPattern::parse(g).unwrap())
                .collect(),
            allow_private: allow_private
                .iter()
                .map(|n| IpNet::parse(n).unwrap())
                .collect(),
            allow_plain_http: true,
            max_body: 1 << 20,
        };
        Outbound::new(Arc::new(rules), Arc::from("test"))
    }

    async fn send(o: &mut Outbound, url: &str) -> Result<u16, Error> {
        let fut = o.send_request(request(url), None, Box::new(async { Ok(()) }));
        Pin::from(fut).await.map(|(r, _)| r.status().as_u16())
    }

    #[tokio::test]
    async fn a_name_that_resolves_inward_is_refused_before_connecting() {
        let mut o = outbound(&["localhost:9"], &[]);
        let e = send(&mut o, "http://localhost:9/").await.unwrap_err();
        assert!(matches!(e, Error::DestinationIpProhibited), "{e}");
        let e = send(&mut o, "http://localhost:10/").await.unwrap_err();
        assert!(matches!(e, Error::HttpRequestDenied), "{e}");
    }

    #[tokio::test]
    async fn a_call_has_a_bounded_number_of_requests_in_flight() {
        // A server that accepts and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let grant = format!("127.0.0.1:{port}");
        let mut o = outbound(&[&grant], &["127.0.0.1"]);
        let url = format!("http://127.0.0.1:{port}/");
        let mut pending = Vec::new();
        for _ in 0..MAX_IN_FLIGHT {
            let fut = o.send_request(request(&url), None, Box::new(async { Ok(()) }));
            pending.push(tokio::spawn(Pin::from(fut)));
        }
        let e = send(&mut o, &url).await.unwrap_err();
        assert!(matches!(e, Error::ConnectionLimitReached), "{e}");
        // Once one is given up, there is room again (it too waits, so it is
        // only started).
        let given_up = pending.pop().unwrap();
        given_up.abort();
        assert!(given_up.await.is_err_and(|e| e.is_cancelled()));
        let fut = o.send_request(request(&url), None, Box::new(async { Ok(()) }));
        let again = tokio::spawn(Pin::from(fut));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !again.is_finished(),
            "the request after a slot freed was refused"
        );
        again.abort();
        for p in pending {
            p.abort();
        }
    }
}
