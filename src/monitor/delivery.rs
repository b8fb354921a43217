//! Delivering each round's events from the outbox: in order, each exactly once.

use std::future::Future;

use super::store::{StateStore, StoreError};

/// Somewhere events are sent: a command, a webhook.
///
/// The library keeps the outbox and the retries; an implementation only makes one attempt.
///
/// # Examples
///
/// ```
/// use dnsbl_check::monitor::Delivery;
///
/// /// Collects payloads; fails while `down`.
/// struct Inbox { down: bool, received: Vec<String> }
///
/// impl Delivery for Inbox {
///     fn sink(&self) -> &str { "inbox" }
///     async fn deliver(&mut self, _id: i64, payload: &str) -> Result<(), String> {
///         if self.down { return Err("down".into()) }
///         self.received.push(payload.to_owned());
///         Ok(())
///     }
/// }
/// ```
pub trait Delivery {
    /// The outbox keeps each sink's deliveries apart: a webhook that is down does not hold
    /// back a command, and the other way round.
    fn sink(&self) -> &str;

    /// Makes one attempt at delivering `payload` (a JSON array of events). `id` is unique and
    /// increasing per delivery, for a receiver to drop a repeat. An error is kept and the
    /// delivery tried again later.
    fn deliver(&mut self, id: i64, payload: &str) -> impl Future<Output = Result<(), String>>;
}

/// What one call of [`deliver_pending`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryOutcome {
    /// Deliveries made.
    pub delivered: usize,
    /// Deliveries still pending (the first of them failed, the rest were not tried).
    pub pending: usize,
    /// Why the first pending delivery failed.
    pub error: Option<String>,
}

/// Delivers the sink's pending deliveries, oldest first, marking each delivered in the state
/// file as soon as it succeeds. Stops at the first failure, so that events arrive in order;
/// the rest stay pending for the next call.
///
/// # Examples
///
/// ```
/// # use dnsbl_check::monitor::Delivery;
/// # struct Inbox { down: bool, received: Vec<String> }
/// # impl Delivery for Inbox {
/// #     fn sink(&self) -> &str { "inbox" }
/// #     async fn deliver(&mut self, _id: i64, payload: &str) -> Result<(), String> {
/// #         if self.down { return Err("down".into()) }
/// #         self.received.push(payload.to_owned());
/// #         Ok(())
/// #     }
/// # }
/// use dnsbl_check::monitor::{StateStore, TrackerConfig, deliver_pending};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = StateStore::open(&dir.path().join("state.db"))?;
/// let mut inbox = Inbox { down: true, received: Vec::new() };
/// let runtime = tokio::runtime::Builder::new_current_thread().build()?;
/// let outcome = runtime.block_on(deliver_pending(&store, &mut inbox, "2026-03-01T12:00:00Z"))?;
/// assert_eq!(outcome.delivered, 0); // nothing was pending
/// # Ok(())
/// # }
/// ```
pub async fn deliver_pending<D: Delivery>(
    store: &StateStore,
    sink: &mut D,
    at: &str,
) -> Result<DeliveryOutcome, StoreError> {
    let pending = store.pending(sink.sink())?;
    let mut outcome = DeliveryOutcome {
        pending: pending.len(),
        ..DeliveryOutcome::default()
    };
    for delivery in pending {
        match sink.deliver(delivery.id, &delivery.payload).await {
            Ok(()) => {
                store.mark_delivered(delivery.id, at)?;
                outcome.delivered += 1;
                outcome.pending -= 1;
            }
            Err(error) => {
                store.mark_failed(delivery.id, &error)?;
                outcome.error = Some(error);
                break;
            }
        }
    }
    Ok(outcome)
}

/// A [`Delivery`] to a shell command (watch mode's `--exec CMD`): `sh -c CMD` with the events
/// on its stdin and the delivery's id in `DNSBL_DELIVERY_ID`. Its output goes to stderr, so
/// that stdout carries events only. Exit status 0 within the timeout is success; a command
/// that does not read its input is fine.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use dnsbl_check::monitor::{Delivery, ExecDelivery};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut exec = ExecDelivery::new("logger -t dnsbl", Duration::from_secs(30));
/// assert_eq!(exec.sink(), "exec");
/// if let Err(error) = exec.deliver(1, "[]").await {
///     eprintln!("{error}");
/// }
/// # }
/// ```
#[cfg(unix)]
#[derive(Debug, Clone)]
pub struct ExecDelivery {
    command: String,
    timeout: std::time::Duration,
}

#[cfg(unix)]
impl ExecDelivery {
    /// Runs `command` with `sh -c` for each delivery, for at most `timeout`.
    pub fn new(command: impl Into<String>, timeout: std::time::Duration) -> Self {
        ExecDelivery {
            command: command.into(),
            timeout,
        }
    }
}

#[cfg(unix)]
impl Delivery for ExecDelivery {
    fn sink(&self) -> &str {
        "exec"
    }

    async fn deliver(&mut self, id: i64, payload: &str) -> Result<(), String> {
        use std::os::fd::AsFd;
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;

        let stderr = std::io::stderr().as_fd().try_clone_to_owned();
        let mut child = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.command)
            .env("DNSBL_DELIVERY_ID", id.to_string())
            .stdin(Stdio::piped())
            .stdout(stderr.map_or_else(|_| Stdio::null(), Stdio::from))
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot run the command: {error}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let run = async {
            // A command that does not read its input is fine: a broken pipe is no failure.
            let _ = stdin.write_all(payload.as_bytes()).await;
            drop(stdin);
            child.wait().await
        };
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err("the command took too long".to_owned()),
            Ok(Err(error)) => Err(format!("the command failed: {error}")),
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("the command exited with {status}")),
        }
    }
}
