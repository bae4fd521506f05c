//! Adversarial: hooks `connect` (through Rust's `std::net`) and `connect-wasi` (through
//! `wasi:sockets` directly) try to open a TCP connection to `addr`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:net-opener;

        world net-opener {
            export plugins-manager:common/plugin-common;
            export connect: func(addr: string) -> result<string, string>;
            export connect-wasi: func(addr: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "net-opener".into(),
            hooks: vec!["connect".into(), "connect-wasi".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn connect(addr: String) -> Result<String, String> {
        std::net::TcpStream::connect(&addr)
            .map(|_| "connected".into())
            .map_err(|e| format!("{addr}: {e}"))
    }

    fn connect_wasi(addr: String) -> Result<String, String> {
        use wasi::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};

        let target: std::net::SocketAddrV4 = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        let [a, b, c, d] = target.ip().octets();
        let network = wasi::sockets::instance_network::instance_network();
        let socket = wasi::sockets::tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
            .map_err(|e| format!("{addr}: create: {e:?}"))?;
        let remote = IpSocketAddress::Ipv4(Ipv4SocketAddress { port: target.port(), address: (a, b, c, d) });
        socket
            .start_connect(&network, remote)
            .map_err(|e| format!("{addr}: connect: {e:?}"))?;
        let ready = socket.subscribe();
        loop {
            match socket.finish_connect() {
                Ok(_streams) => return Ok("connected".into()),
                Err(ErrorCode::WouldBlock) => ready.block(),
                Err(e) => return Err(format!("{addr}: connect: {e:?}")),
            }
        }
    }
}

export!(Plugin);
