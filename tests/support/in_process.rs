//! The library's servers run in-process: `PolicyServer::serve`, `MilterServer::serve` and
//! `ExporterServer::serve` in a task of the test's runtime, stopped by their shutdown stream. The same protocol as the
//! tools' processes, without building or starting them.

use std::net::SocketAddr;
use std::time::Duration;

use dnsbl_check::exporter::server::ExporterServer;
use dnsbl_check::mail::serve::{Listen, Listener, MilterServer, PolicyServer};
use dnsbl_check::{Checker, DnsList, HickoryResolver, ListKind};
use futures::channel::mpsc;
use tokio::net::{TcpStream, UnixStream};
use tokio::task::JoinHandle;

use super::policy::PolicyClient;
use super::tool::{Address, PATIENCE};
use super::{TestDns, resolver_at};

/// A checker asking `dns` about the IP lists `ip_zones` and the domain lists `domain_zones`.
pub fn checker(
    dns: &TestDns,
    ip_zones: &[&str],
    domain_zones: &[&str],
) -> Checker<HickoryResolver> {
    let ip = ip_zones.iter().map(|zone| (zone, ListKind::Ip));
    let domain = domain_zones.iter().map(|zone| (zone, ListKind::Domain));
    let lists = ip
        .chain(domain)
        .map(|(zone, kind)| DnsList::from_spec(zone, kind).unwrap());
    Checker::builder()
        .lists(lists)
        .build_with(resolver_at(dns.addr, Duration::from_secs(2), 2))
        .unwrap()
}

/// A library server serving in a task.
pub struct InProcess {
    pub address: Address,
    stop: mpsc::UnboundedSender<()>,
    task: JoinHandle<()>,
}

impl InProcess {
    /// `server` on 127.0.0.1, port chosen by the system.
    pub async fn policy(server: PolicyServer<HickoryResolver>) -> InProcess {
        InProcess::policy_at(server, &Listen::Tcp("127.0.0.1:0".parse().unwrap())).await
    }

    /// `server` listening at `listen` (a Unix socket with mode 660).
    pub async fn policy_at(server: PolicyServer<HickoryResolver>, listen: &Listen) -> InProcess {
        let listener = Listener::bind(listen, 0o660).await.unwrap();
        InProcess::spawn(listen, listener, |listener, stop| async move {
            server.serve(listener, stop).await
        })
    }

    /// `server` on 127.0.0.1, port chosen by the system.
    pub async fn milter(server: MilterServer<HickoryResolver>) -> InProcess {
        let listen = Listen::Tcp("127.0.0.1:0".parse().unwrap());
        let listener = Listener::bind(&listen, 0o660).await.unwrap();
        InProcess::spawn(&listen, listener, |listener, stop| async move {
            server.serve(listener, stop).await
        })
    }

    /// The exporter `server` on 127.0.0.1, port chosen by the system.
    pub async fn exporter(server: ExporterServer) -> InProcess {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = Address::Tcp(listener.local_addr().unwrap());
        let (stop, stopping) = mpsc::unbounded();
        let task = tokio::spawn(server.serve(listener, stopping));
        InProcess {
            address,
            stop,
            task,
        }
    }

    fn spawn<F, Fut>(listen: &Listen, listener: Listener, serve: F) -> InProcess
    where
        F: FnOnce(Listener, mpsc::UnboundedReceiver<()>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let address = match (listener.local_addr(), listen) {
            (Some(addr), _) => Address::Tcp(addr),
            (None, Listen::Unix(path)) => Address::Unix(path.clone()),
            (None, other) => panic!("no address for {other}"),
        };
        let (stop, stopping) = mpsc::unbounded();
        let task = tokio::spawn(serve(listener, stopping));
        InProcess {
            address,
            stop,
            task,
        }
    }

    /// The TCP address.
    pub fn addr(&self) -> SocketAddr {
        match &self.address {
            Address::Tcp(addr) => *addr,
            Address::Unix(path) => panic!("listening on {}, not TCP", path.display()),
        }
    }

    /// A new policy connection.
    pub async fn connect(&self) -> PolicyClient {
        match &self.address {
            Address::Tcp(addr) => PolicyClient::new(TcpStream::connect(addr).await.unwrap()),
            Address::Unix(path) => PolicyClient::new(UnixStream::connect(path).await.unwrap()),
        }
    }

    /// Begins the shutdown, as the first SIGTERM does.
    pub fn shutdown(&self) {
        self.stop.unbounded_send(()).unwrap();
    }

    /// Waits for the server to return.
    pub async fn stopped(self) {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the server stops")
            .expect("the server does not panic");
    }
}
