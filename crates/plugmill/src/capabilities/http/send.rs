//! Sending one plugin request: the allowlist, the address check after resolution, the
//! connection (TLS for `https`), the redirects the host follows, and the caps, each hop
//! checked again. Every refusal is logged with its reason and counted.

use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpStream;
use tokio::time::Sleep;
use wasmtime_wasi::runtime::AbortOnDropJoinHandle;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::address::refused_kind;
use super::limits::HttpLimits;
use super::metrics;
use super::rules::{Rule, Scheme, Target};

/// What the I/O of a response's connection ends with.
type IoFuture = Box<dyn std::future::Future<Output = Result<(), Error>> + Send>;

/// The sender of one plugin's requests during one call.
#[derive(Clone)]
pub(crate) struct Outbound {
    pub(crate) plugin: Arc<str>,
    pub(crate) rules: Arc<[Rule]>,
    pub(crate) limits: HttpLimits,
    pub(crate) deadline: Instant,
    pub(crate) tls: Arc<rustls::ClientConfig>,
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn std::future::Future<Output = Result<(Response<WasiBody>, IoFuture), Error>> + Send>
    {
        drop(fut);
        let outbound = self.clone();
        Box::new(async move { outbound.send(request, options).await })
    }
}

/// An outbound failure in words, for host interfaces answering with text.
pub(crate) fn describe(error: &Error) -> String {
    match error {
        Error::HttpRequestDenied => "refused: the host is not in the plugin's allowlist".into(),
        Error::DestinationIpProhibited => {
            "refused: the host resolves to an address plugins may not reach".into()
        }
        Error::HttpResponseBodySize(_) => "refused: the answer is over the size limit".into(),
        Error::HttpRequestBodySize(_) => "refused: the request is over the size limit".into(),
        Error::LoopDetected => "refused: too many redirects".into(),
        Error::ConnectionReadTimeout | Error::ConnectionTimeout | Error::DnsTimeout => {
            "timed out".into()
        }
        other => format!("failed: {other:?}"),
    }
}

/// Statuses the host follows.
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

impl Outbound {
    /// Logs and counts a refusal, and gives the error the plugin sees.
    fn refuse(&self, host: &str, outcome: &'static str, error: Error, reason: &str) -> Error {
        tracing::warn!(plugin = %self.plugin, host, outcome, "outbound request refused: {reason}");
        metrics::request(&self.plugin, host, outcome);
        error
    }

    pub(crate) async fn send(
        self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(Response<WasiBody>, IoFuture), Error> {
        let deadline =
            tokio::time::Instant::from_std(self.deadline.min(Instant::now() + self.limits.timeout));
        let (parts, body) = request.into_parts();
        let host = parts.uri.host().unwrap_or("").to_ascii_lowercase();
        let body = match tokio::time::timeout_at(deadline, self.collect(body, &host)).await {
            Ok(body) => body?,
            Err(_) => {
                return Err(self.refuse(
                    &host,
                    "timeout",
                    Error::ConnectionWriteTimeout,
                    "the request body was not written before the deadline",
                ))
            }
        };
        let mut uri = parts.uri;
        let mut method = parts.method;
        let mut headers = parts.headers;
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::TRANSFER_ENCODING);
        let mut body = body;
        let mut redirects = 0;
        loop {
            let target = target_of(&uri).ok_or(Error::HttpRequestUriInvalid)?;
            let started = Instant::now();
            let (response, io) = self
                .exchange(
                    &target,
                    &uri,
                    &method,
                    &headers,
                    body.clone(),
                    deadline,
                    options,
                )
                .await?;
            metrics::duration(&self.plugin, &target.host, started.elapsed());
            let location = is_redirect(response.status())
                .then(|| response.headers().get(header::LOCATION))
                .flatten()
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let Some(location) = location else {
                return self.answer(&target.host, response, io, deadline);
            };
            if redirects == self.limits.max_redirects {
                return Err(self.refuse(
                    &target.host,
                    "redirects",
                    Error::LoopDetected,
                    &format!("{target} redirects once more after {redirects} redirects, the limit"),
                ));
            }
            redirects += 1;
            let next = resolve_location(&uri, &location).ok_or_else(|| {
                self.refuse(
                    &target.host,
                    "failed",
                    Error::HttpRequestUriInvalid,
                    &format!(
                        "{target} redirects to `{}`, not a URI",
                        location.escape_debug()
                    ),
                )
            })?;
            let status = response.status().as_u16();
            if status == 303 || (matches!(status, 301 | 302) && method == Method::POST) {
                method = Method::GET;
                body = Bytes::new();
                headers.remove(header::CONTENT_TYPE);
            }
            if next.host() != uri.host() || next.port_u16() != uri.port_u16() {
                // Credentials meant for one origin never follow a redirect to another.
                for name in [
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::PROXY_AUTHORIZATION,
                ] {
                    headers.remove(name);
                }
            }
            tracing::debug!(plugin = %self.plugin, from = %target, status, "following a redirect");
            uri = next;
            drop((response, io));
        }
    }

    /// The request body, whole, refused beyond the cap.
    async fn collect(&self, mut body: WasiBody, host: &str) -> Result<Bytes, Error> {
        let mut collected = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                collected.extend_from_slice(&data);
                if collected.len() as u64 > self.limits.max_request {
                    return Err(self.refuse(
                        host,
                        "too_large",
                        Error::HttpRequestBodySize(Some(collected.len() as u64)),
                        &format!(
                            "the request body is over {} bytes, the limit",
                            self.limits.max_request
                        ),
                    ));
                }
            }
        }
        Ok(collected.into())
    }

    /// One hop: checks the target and its addresses, connects and sends.
    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        target: &Target,
        uri: &Uri,
        method: &Method,
        headers: &HeaderMap,
        body: Bytes,
        deadline: tokio::time::Instant,
        options: Option<RequestOptions>,
    ) -> Result<(Response<Incoming>, IoFuture), Error> {
        let host = target.host.as_str();
        let Some(rule) = self.rules.iter().find(|rule| rule.covers(target)) else {
            let reason = if self.rules.is_empty() {
                format!(
                    "plugin `{}` is granted no outbound HTTP (`http = [...]` under [plugins.{}])",
                    self.plugin, self.plugin
                )
            } else {
                format!(
                    "{target} is not in the allowlist of plugin `{}` (`http` under [plugins.{}])",
                    self.plugin, self.plugin
                )
            };
            return Err(self.refuse(host, "denied", Error::HttpRequestDenied, &reason));
        };
        let addresses = self.resolve(target, deadline).await?;
        let addresses: Vec<SocketAddr> = if rule.by_address() {
            addresses
        } else {
            let (public, refused): (Vec<_>, Vec<_>) = addresses
                .into_iter()
                .partition(|address| refused_kind(address.ip()).is_none());
            if public.is_empty() {
                let first = refused.first().map(|a| a.ip());
                let kind = first.and_then(refused_kind).unwrap_or("a refused address");
                let shown = first.map(|ip| ip.to_string()).unwrap_or_default();
                return Err(self.refuse(
                    host,
                    "address_refused",
                    Error::DestinationIpProhibited,
                    &format!(
                        "`{host}` resolves to {shown}, {kind}: only a rule naming the address reaches it"
                    ),
                ));
            }
            public
        };
        let connect_by = match options.and_then(|o| o.connect_timeout) {
            Some(timeout) => deadline.min(tokio::time::Instant::now() + timeout),
            None => deadline,
        };
        let stream = self.connect(target, &addresses, connect_by).await?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
            .body(Full::new(body))
            .map_err(|e| Error::InternalError(Some(e.to_string())))?;
        *request.headers_mut() = headers.clone();
        if let Some(authority) = uri.authority() {
            let value = header::HeaderValue::from_str(authority.as_str())
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            request.headers_mut().insert(header::HOST, value);
        }
        let handshake = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(stream);
        let (mut sender, connection) = match tokio::time::timeout_at(connect_by, handshake).await {
            Ok(result) => result.map_err(Error::from)?,
            Err(_) => return Err(self.timed_out(target, "connecting")),
        };
        let io: AbortOnDropJoinHandle<Result<(), Error>> = tokio::spawn(async move {
            match tokio::time::timeout_at(deadline, connection).await {
                Ok(result) => result.map_err(Error::from),
                Err(_) => Err(Error::ConnectionReadTimeout),
            }
        })
        .into();
        let answer_by = match options.and_then(|o| o.first_byte_timeout) {
            Some(timeout) => deadline.min(tokio::time::Instant::now() + timeout),
            None => deadline,
        };
        let response = match tokio::time::timeout_at(answer_by, sender.send_request(request)).await
        {
            Ok(response) => response.map_err(|e| {
                metrics::request(&self.plugin, host, "failed");
                Error::from(e)
            })?,
            Err(_) => return Err(self.timed_out(target, "waiting for the answer")),
        };
        Ok((response, Box::new(io)))
    }

    fn timed_out(&self, target: &Target, doing: &str) -> Error {
        self.refuse(
            &target.host,
            "timeout",
            Error::ConnectionReadTimeout,
            &format!("{target}: the request timeout or the call's deadline passed while {doing}"),
        )
    }

    /// The addresses of `target`, resolved once for this hop.
    async fn resolve(
        &self,
        target: &Target,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<SocketAddr>, Error> {
        if let Some(address) = target.address() {
            return Ok(vec![SocketAddr::new(address, target.port)]);
        }
        let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
        match tokio::time::timeout_at(deadline, lookup).await {
            Ok(Ok(addresses)) => Ok(addresses.collect()),
            Ok(Err(error)) => {
                metrics::request(&self.plugin, &target.host, "failed");
                Err(Error::DnsError {
                    rcode: Some(error.to_string()),
                    info_code: None,
                })
            }
            Err(_) => Err(self.refuse(
                &target.host,
                "timeout",
                Error::DnsTimeout,
                &format!("`{}` was not resolved before the deadline", target.host),
            )),
        }
    }

    /// A connection to the first address that answers, TLS for `https`.
    async fn connect(
        &self,
        target: &Target,
        addresses: &[SocketAddr],
        by: tokio::time::Instant,
    ) -> Result<TokioIo<Box<dyn Stream>>, Error> {
        let mut last = Error::DestinationUnavailable;
        for address in addresses {
            match tokio::time::timeout_at(by, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => return self.secure(target, stream, by).await,
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Error::ConnectionRefused
                }
                Ok(Err(error)) => last = Error::Connect(error),
                Err(_) => return Err(self.timed_out(target, "connecting")),
            }
        }
        metrics::request(&self.plugin, &target.host, "failed");
        Err(last)
    }

    async fn secure(
        &self,
        target: &Target,
        stream: TcpStream,
        by: tokio::time::Instant,
    ) -> Result<TokioIo<Box<dyn Stream>>, Error> {
        if target.scheme == Scheme::Http {
            return Ok(TokioIo::new(Box::new(stream)));
        }
        let name = match target.address() {
            Some(address) => rustls::pki_types::ServerName::from(address),
            None => rustls::pki_types::ServerName::try_from(target.host.as_str())
                .map(|name| name.to_owned())
                .map_err(|_| Error::HttpRequestUriInvalid)?,
        };
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        match tokio::time::timeout_at(by, connector.connect(name, stream)).await {
            Ok(Ok(stream)) => Ok(TokioIo::new(Box::new(stream))),
            Ok(Err(error)) => {
                metrics::request(&self.plugin, &target.host, "failed");
                Err(Error::Tls(error))
            }
            Err(_) => Err(self.timed_out(target, "securing the connection")),
        }
    }

    /// The final answer, its body capped and bounded by the deadline.
    fn answer(
        &self,
        host: &str,
        response: Response<Incoming>,
        io: IoFuture,
        deadline: tokio::time::Instant,
    ) -> Result<(Response<WasiBody>, IoFuture), Error> {
        let cap = self.limits.max_response;
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > cap) {
            return Err(self.refuse(
                host,
                "too_large",
                Error::HttpResponseBodySize(declared),
                &format!(
                    "the answer declares {} bytes, over the {cap} bytes limit",
                    declared.unwrap_or(0)
                ),
            ));
        }
        metrics::request(&self.plugin, host, "ok");
        let outbound = self.clone();
        let host = host.to_string();
        Ok((
            response.map(move |incoming| {
                CappedBody {
                    incoming,
                    read: 0,
                    cap,
                    deadline: Box::pin(tokio::time::sleep_until(deadline)),
                    outbound,
                    host,
                }
                .boxed_unsync()
            }),
            io,
        ))
    }
}

/// A connection, plain or TLS.
pub(crate) trait Stream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Where `uri` goes, if it is an absolute `http` or `https` URI.
fn target_of(uri: &Uri) -> Option<Target> {
    let scheme = Scheme::parse(&uri.scheme_str()?.to_ascii_lowercase())?;
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_ascii_lowercase();
    Some(Target {
        scheme,
        port: uri.port_u16().unwrap_or(scheme.default_port()),
        host,
    })
}

/// The URI a `Location` names, relative to `base`.
fn resolve_location(base: &Uri, location: &str) -> Option<Uri> {
    let parsed: Uri = location.parse().ok()?;
    if parsed.scheme().is_some() {
        return Some(parsed);
    }
    let path = if location.starts_with('/') {
        location.to_string()
    } else {
        let base_path = base.path();
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        format!("/{}{location}", dir.trim_start_matches('/'))
    };
    Uri::builder()
        .scheme(base.scheme()?.clone())
        .authority(base.authority()?.clone())
        .path_and_query(path)
        .build()
        .ok()
}

/// A response body cut at the size cap and at the deadline.
struct CappedBody {
    incoming: Incoming,
    read: u64,
    cap: u64,
    deadline: Pin<Box<Sleep>>,
    outbound: Outbound,
    host: String,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read += data.len() as u64;
                    if this.read > this.cap {
                        let reason =
                            format!("the answer is over {} bytes, the limit: cut", this.cap);
                        let error = this.outbound.refuse(
                            &this.host,
                            "too_large",
                            Error::HttpResponseBodySize(Some(this.read)),
                            &reason,
                        );
                        return Poll::Ready(Some(Err(error)));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let error = this.outbound.refuse(
                        &this.host,
                        "timeout",
                        Error::ConnectionReadTimeout,
                        "the answer did not end before the request timeout or the call's deadline",
                    );
                    Poll::Ready(Some(Err(error)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request() {
        let base: Uri = "http://example.com:8080/a/b?q=1".parse().unwrap();
        assert_eq!(
            resolve_location(&base, "/c").unwrap().to_string(),
            "http://example.com:8080/c"
        );
        assert_eq!(
            resolve_location(&base, "d").unwrap().to_string(),
            "http://example.com:8080/a/d"
        );
        assert_eq!(
            resolve_location(&base, "https://other.example/x")
                .unwrap()
                .to_string(),
            "https://other.example/x"
        );
        let target = target_of(&"http://[::1]:81/".parse().unwrap()).unwrap();
        assert_eq!(target.host, "::1");
        assert_eq!(target.port, 81);
    }
}
