//! `plugins-manager:extra-services-manager/request-service`: `send-zip(zip-path, uri)` posts
//! a file the plugin wrote (in a directory granted to it) to `uri`, through the outbound HTTP
//! capability: the plugin's allowlist, the address checks and the limits all apply.

use wasmtime::component::Linker;

use crate::capabilities::http::OutboundHttp;
use crate::host::HostState;

/// Bindings generated from the seed's WIT.
#[allow(missing_docs)]
mod generated {
    wasmtime::component::bindgen!({
        inline: "
            package plugmill:request-host;
            world request-host {
                import plugins-manager:extra-services-manager/request-service;
            }
        ",
        path: "../../wit/extra-services-manager",
        imports: { default: async },
    });
}
use generated::plugins_manager::extra_services_manager::request_service;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    request_service::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
        linker,
        |state| state,
    )?;
    Ok(())
}

impl request_service::Host for HostState {
    async fn send_zip(&mut self, zip_path: String, uri: String) -> Result<(), String> {
        let plugin = self.plugin_name().to_string();
        let http = self
            .capability::<OutboundHttp>()
            .ok_or("the host has no outbound HTTP capability")?;
        let (path, _) = self.wasi_grants().host_path(&zip_path).ok_or_else(|| {
            format!("`{zip_path}` is not in a directory granted to plugin `{plugin}`")
        })?;
        let limit = http.limits().max_request;
        let bytes = crate::files::read_regular(&path, limit)
            .map_err(|e| format!("`{zip_path}` cannot be read: {e}"))?;
        let request = http::Request::post(uri.as_str())
            .header(http::header::CONTENT_TYPE, "application/zip")
            .body(bytes::Bytes::from(bytes))
            .map_err(|_| format!("`{uri}` is not a URI"))?;
        let (status, _) = http.send_for(&plugin, self.deadline(), request).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("`{uri}` answered {status}"))
        }
    }
}
