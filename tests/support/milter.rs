//! The MTA's side of the milter protocol, spoken with the library's codec to the milter (the
//! `dnsbl-milter` tool, or the library's server in-process).

use std::net::{IpAddr, SocketAddr};

use dnsbl_check::mail::milter::{
    Actions, ClientAddress, Command, MAX_PACKET, Options, ProtocolFlags, Response, read_packet,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::tool::{PATIENCE, ToolProcess};

/// Every action and protocol flag of version 6, as an MTA offers them.
pub const OFFER_ACTIONS: Actions = Actions::from_bits(0x1ff);
pub const OFFER_PROTOCOL: ProtocolFlags = ProtocolFlags::from_bits(0x1f_ffff);

/// One milter connection, as an MTA holds it.
pub struct Mta {
    stream: TcpStream,
    /// What the filter agreed to.
    pub agreed: Options,
}

impl Mta {
    /// Connects and negotiates, offering everything.
    pub async fn connect(server: &ToolProcess) -> Mta {
        Mta::connect_offering(server, Options::new(OFFER_ACTIONS, OFFER_PROTOCOL)).await
    }

    /// Connects and negotiates with `offer`.
    pub async fn connect_offering(server: &ToolProcess, offer: Options) -> Mta {
        Mta::connect_to(server.addr(), offer).await
    }

    /// Connects to the milter at `addr` and negotiates with `offer`.
    pub async fn connect_to(addr: SocketAddr, offer: Options) -> Mta {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut mta = Mta {
            stream,
            agreed: offer,
        };
        match mta.ask(&Command::Negotiate(offer)).await {
            Some(Response::Negotiate(agreed)) => mta.agreed = agreed,
            other => panic!("negotiation answered {other:?}"),
        }
        mta
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Closes the sending side (the filter sees the end of input).
    pub async fn shutdown_write(&mut self) {
        self.stream.shutdown().await.unwrap();
    }

    /// Sends a command and reads its response.
    pub async fn ask(&mut self, command: &Command) -> Option<Response> {
        self.send_raw(&command.to_bytes()).await;
        self.response().await
    }

    /// Sends a command and, unless the negotiation said it gets none, reads its response,
    /// which must be `Continue`.
    pub async fn tell(&mut self, command: &Command) {
        self.send_raw(&command.to_bytes()).await;
        let no_reply = match command {
            Command::Helo(_) => ProtocolFlags::NR_HELO,
            Command::Mail(_) => ProtocolFlags::NR_MAIL,
            Command::Header { .. } => ProtocolFlags::NR_HEADER,
            Command::EndOfHeaders => ProtocolFlags::NR_EOH,
            Command::Body(_) => ProtocolFlags::NR_BODY,
            Command::Macros { .. } | Command::Abort => return,
            other => panic!("tell() is not for {other:?}"),
        };
        if !self.agreed.protocol.intersects(no_reply) {
            assert_eq!(
                self.response().await,
                Some(Response::Continue),
                "{command:?}"
            );
        }
    }

    /// Reads one response; `None` if the filter closed the connection.
    pub async fn response(&mut self) -> Option<Response> {
        let mut packet = Vec::new();
        let read = read_packet(&mut self.stream, &mut packet, MAX_PACKET);
        match tokio::time::timeout(PATIENCE, read).await {
            Ok(Ok(true)) => Some(Response::parse(&packet).expect("a well-formed response")),
            Ok(Ok(false)) | Ok(Err(_)) => None,
            Err(_) => panic!("no response in time"),
        }
    }

    /// Whether the filter closed the connection.
    pub async fn closed(&mut self) -> bool {
        self.response().await.is_none()
    }

    /// A client at `ip` connects: the filter's answer.
    pub async fn client(&mut self, ip: &str) -> Response {
        let ip: IpAddr = ip.parse().unwrap();
        let connect = Command::Connect {
            hostname: "unknown".into(),
            address: ClientAddress::Ip(ip, 40000),
        };
        self.ask(&connect).await.expect("an answer at connect")
    }

    /// Sends a message (MAIL, headers, body in chunks of at most 64 KiB, end of message) and
    /// returns the responses to its end: zero or more header changes, then the verdict.
    pub async fn message(&mut self, headers: &[(&str, &str)], body: &str) -> Vec<Response> {
        self.start_message(headers).await;
        for chunk in body.as_bytes().chunks(65535) {
            self.tell(&Command::Body(chunk.to_vec())).await;
        }
        self.end_message().await
    }

    /// MAIL and the headers, up to the end of the headers.
    pub async fn start_message(&mut self, headers: &[(&str, &str)]) {
        self.tell(&Command::Macros {
            stage: b'M',
            pairs: vec![("i".into(), "4ABCDEF".into())],
        })
        .await;
        self.tell(&Command::Mail(vec!["<sender@example.org>".into()]))
            .await;
        for (name, value) in headers {
            let value = value.as_bytes().to_vec();
            self.tell(&Command::Header {
                name: (*name).into(),
                value,
            })
            .await;
        }
        self.tell(&Command::EndOfHeaders).await;
    }

    /// The end of the message: the responses up to the verdict.
    pub async fn end_message(&mut self) -> Vec<Response> {
        self.send_raw(&Command::EndOfMessage(Vec::new()).to_bytes())
            .await;
        let mut responses = Vec::new();
        loop {
            let response = self.response().await.expect("an answer at end of message");
            let last = !matches!(response, Response::AddHeader { .. });
            responses.push(response);
            if last {
                return responses;
            }
        }
    }
}
