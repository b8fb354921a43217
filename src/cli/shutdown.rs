//! Stopping on SIGTERM (systemd, Kubernetes) and SIGINT (Ctrl-C), for the whole run.

use std::io;

use futures::Stream;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signal that asked the program to stop.
///
/// # Examples
///
/// ```
/// use dnsbl_check::cli::StopSignal;
///
/// assert_eq!(StopSignal::Terminate.name(), "SIGTERM");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopSignal {
    /// SIGTERM.
    Terminate,
    /// SIGINT.
    Interrupt,
}

impl StopSignal {
    /// The signal's name: `SIGTERM` or `SIGINT`.
    ///
    /// # Examples
    ///
    /// ```
    /// use dnsbl_check::cli::StopSignal;
    ///
    /// assert_eq!(StopSignal::Interrupt.name(), "SIGINT");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        }
    }
}

/// SIGTERM and SIGINT, caught from the moment this is made until it is dropped: a signal
/// that comes while the program is busy elsewhere is not lost, and ends the next
/// [`Shutdown::wait`] at once.
///
/// # Examples
///
/// ```no_run
/// use dnsbl_check::cli::Shutdown;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut shutdown = Shutdown::new()?;
/// loop {
///     tokio::select! {
///         signal = shutdown.wait() => {
///             eprintln!("{}: stopping", signal.name());
///             return Ok(());
///         }
///         () = tokio::time::sleep(std::time::Duration::from_secs(60)) => {} // one round
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Shutdown {
    terminate: Signal,
    interrupt: Signal,
}

impl Shutdown {
    /// Starts catching both signals. Must be called within a Tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let shutdown = dnsbl_check::cli::Shutdown::new().unwrap();
    /// # drop(shutdown);
    /// # }
    /// ```
    pub fn new() -> io::Result<Self> {
        Ok(Shutdown {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either signal, and says which came.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut shutdown = dnsbl_check::cli::Shutdown::new().unwrap();
    /// let signal = shutdown.wait().await;
    /// eprintln!("{}: shutting down", signal.name());
    /// # }
    /// ```
    pub async fn wait(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.terminate.recv() => StopSignal::Terminate,
            _ = self.interrupt.recv() => StopSignal::Interrupt,
        }
    }

    /// Every signal as it comes, logged (`SIGTERM: shutting down`), as the shutdown stream
    /// the servers take (`serve(listener, shutdown)`): the first stops accepting, a second
    /// stops waiting for the connections in flight.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut signals = std::pin::pin!(dnsbl_check::cli::Shutdown::new().unwrap().logged());
    /// signals.next().await; // SIGTERM or SIGINT came, and was logged
    /// # }
    /// ```
    pub fn logged(self) -> impl Stream<Item = ()> + Send {
        futures::stream::unfold(self, |mut shutdown| async move {
            let signal = shutdown.wait().await;
            tracing::info!("{}: shutting down", signal.name());
            Some(((), shutdown))
        })
    }
}
