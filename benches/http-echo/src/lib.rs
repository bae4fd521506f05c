//! A wasi:http proxy that answers every request with its body, as JSON.

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(Echo);

struct Echo;

impl wasi::exports::http::incoming_handler::Guest for Echo {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let mut bytes = Vec::new();
        if let Ok(body) = request.consume() {
            if let Ok(stream) = body.stream() {
                while let Ok(chunk) = stream.blocking_read(64 << 10) {
                    bytes.extend_from_slice(&chunk);
                }
            }
            let _ = IncomingBody::finish(body);
        }
        let headers = Fields::from_list(&[("content-type".into(), b"application/json".to_vec())])
            .unwrap_or_else(|_| Fields::new());
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else {
            return;
        };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(out) = body.write() {
            let _ = out.blocking_write_and_flush(&bytes);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
