//! Fail-over among several name servers: each asked in turn, in the order of their health.

use std::time::Instant;

use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::HickoryResolver;
use crate::resolver::health::{self, Standing};
use crate::resolver::{Answer, LookupError, LookupErrorKind};

impl HickoryResolver {
    /// Asks the name servers one after another, in health order, until one gives an answer
    /// (records, NXDOMAIN or NOERROR without records), and keeps their health records.
    pub(super) async fn ask_in_health_order(
        &self,
        name: &Name,
        record_type: RecordType,
    ) -> Result<Answer<RData>, LookupError> {
        let mut order: Vec<(usize, Standing)> = self
            .upstreams
            .iter()
            .enumerate()
            .map(|(index, upstream)| (index, upstream.health.standing(self.timeout)))
            .collect();
        // Stable: servers of the same standing keep their configured order.
        order.sort_by_key(|&(_, standing)| standing.rank());
        let mut last_error = LookupError::new(LookupErrorKind::Timeout);
        for (attempt, index, standing) in health::tries(&order, self.retries) {
            let upstream = &self.upstreams[index];
            let started = Instant::now();
            let error = match self.ask(&upstream.resolver, name, record_type).await {
                Err(error) => error,
                answer => {
                    upstream.health.answered(Some(started.elapsed()));
                    return answer;
                }
            };
            match error.kind() {
                // No answer: a timeout, a confirmed closed port, an unreachable host.
                LookupErrorKind::Timeout | LookupErrorKind::Network => {
                    upstream.health.failed(standing);
                }
                // An answer, if not a good one: the server is alive.
                LookupErrorKind::ServFail
                | LookupErrorKind::Refused
                | LookupErrorKind::ResponseCode(_)
                | LookupErrorKind::Protocol => upstream.health.answered(Some(started.elapsed())),
                _ => {}
            }
            if health::is_final(&error, attempt, order.len()) {
                return Err(error);
            }
            last_error = error;
        }
        Err(last_error)
    }
}
