//! A UDP relay on loopback whose upstream can be switched while it runs: a resolver that goes
//! blind (or comes back) in the middle of a run of a program under test.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

/// Passes each query to the current upstream, and its answers back.
pub struct SwitchingRelay {
    /// Where the program under test sends its queries.
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    _task: tokio::task::JoinHandle<()>,
}

impl SwitchingRelay {
    /// A relay to `upstream`, on a free port of 127.0.0.1.
    pub async fn start(upstream: SocketAddr) -> SwitchingRelay {
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = front.local_addr().unwrap();
        let current = Arc::new(Mutex::new(upstream));
        let shared = Arc::clone(&current);
        let task = tokio::spawn(async move {
            // One upstream socket per client socket, so that answers find their way back.
            let mut backs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut buf = vec![0u8; 65_535];
            loop {
                let Ok((len, client)) = front.recv_from(&mut buf).await else {
                    continue;
                };
                let back = match backs.get(&client) {
                    Some(back) => Arc::clone(back),
                    None => {
                        let back = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                        let (reader, front) = (Arc::clone(&back), Arc::clone(&front));
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 65_535];
                            while let Ok((len, _)) = reader.recv_from(&mut buf).await {
                                let _ = front.send_to(&buf[..len], client).await;
                            }
                        });
                        backs.insert(client, Arc::clone(&back));
                        back
                    }
                };
                let upstream = *shared.lock().unwrap_or_else(|e| e.into_inner());
                let _ = back.send_to(&buf[..len], upstream).await;
            }
        });
        SwitchingRelay {
            addr,
            upstream: current,
            _task: task,
        }
    }

    /// Sends the queries from now on to `upstream`.
    pub fn switch_to(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap_or_else(|e| e.into_inner()) = upstream;
    }
}
