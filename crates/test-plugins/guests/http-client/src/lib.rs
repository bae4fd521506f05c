//! Written for `wasi:http` alone (the `wasip2` crate's bindings); hook `fetch(method, url, body)` sends one request and answers `STATUS BODY`, or the `wasi:http` error code.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use wasi::io::streams::StreamError;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:http-client;

        world http-client {
            export plugins-manager:common/plugin-common;
            export fetch: func(method: string, url: string, body: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "http-client".into(),
            hooks: vec!["fetch".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn fetch(method: String, url: String, body: String) -> Result<String, String> {
        let (scheme, rest) = url.split_once("://").ok_or("the URL has no scheme")?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let request = OutgoingRequest::new(Fields::new());
        let method = match method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => Method::Other(other.into()),
        };
        request.set_method(&method).map_err(|()| "bad method")?;
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.into()),
        };
        request.set_scheme(Some(&scheme)).map_err(|()| "bad scheme")?;
        request
            .set_authority(Some(authority))
            .map_err(|()| "bad authority")?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| "bad path")?;
        let outgoing = request.body().map_err(|()| "no request body")?;
        let pending = outgoing_handler::handle(request, None).map_err(code)?;
        {
            let stream = outgoing.write().map_err(|()| "no body stream")?;
            for chunk in body.as_bytes().chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| format!("writing the body: {e:?}"))?;
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(code)?;
        pending.subscribe().block();
        let response = pending
            .get()
            .ok_or("no response after waiting")?
            .map_err(|()| "the response was taken")?
            .map_err(code)?;
        let status = response.status();
        let incoming = response.consume().map_err(|()| "no response body")?;
        let mut bytes = Vec::new();
        {
            let stream = incoming.stream().map_err(|()| "no response stream")?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(error)) => {
                        return Err(match wasi::http::types::http_error_code(&error) {
                            Some(error) => code(error),
                            None => error.to_debug_string(),
                        })
                    }
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(format!("{status} {}", String::from_utf8_lossy(&bytes)))
    }
}

/// The error code as its `Debug` form: `HttpRequestDenied`, `DestinationIpProhibited`...
fn code(error: ErrorCode) -> String {
    format!("{error:?}")
}

export!(Plugin);
