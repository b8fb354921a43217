//! The diagnosis written out for people: the name servers, then each list with its test
//! points, then the one-line verdict.

use std::fmt;

use super::{Diagnosis, ListDiagnosis, PointAnswer};
use crate::outcome::Outcome;

impl PointAnswer {
    /// The answer in a few words: the codes of a listing, or the outcome's own words.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use dnsbl_check::setup::diagnose;
    /// use dnsbl_check::{HickoryResolver, NameServer, presets};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = NameServer::new("127.0.0.1:53".parse()?);
    /// let resolver = HickoryResolver::builder().name_server(server).build()?;
    /// let diagnosis = diagnose(&resolver, &[server], &presets::default_lists()).await;
    /// for point in &diagnosis.lists[0].points {
    ///     println!("{}: {}", point.point, point.answer_text()); // "listed (127.0.0.2)"
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn answer_text(&self) -> String {
        match &self.outcome {
            Outcome::Listed(listing) => {
                let codes: Vec<String> = listing.codes.iter().map(ToString::to_string).collect();
                format!("listed ({})", codes.join(", "))
            }
            Outcome::NotListed => "not listed".to_owned(),
            trouble => format!(
                "{}: {}",
                trouble.status(),
                trouble.detail().unwrap_or_default()
            ),
        }
    }
}

/// The report as `dnsbl-check --check-setup` prints it: `Name servers:`, `Lists:` with each
/// test point's answer and round trip, and [`Diagnosis::summary`] as the last line (without a
/// line feed after it).
///
/// # Examples
///
/// ```no_run
/// use dnsbl_check::setup::diagnose;
/// use dnsbl_check::{HickoryResolver, NameServer, presets};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let server = NameServer::new("127.0.0.1:53".parse()?);
/// let resolver = HickoryResolver::builder().name_server(server).build()?;
/// let diagnosis = diagnose(&resolver, &[server], &presets::default_lists()).await;
/// println!("{diagnosis}");
/// # Ok(())
/// # }
/// ```
impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Name servers:")?;
        if self.resolvers.is_empty() {
            writeln!(f, "  (unknown)")?;
        }
        for note in &self.resolvers {
            match note.public {
                Some(service) => writeln!(
                    f,
                    "  {}  {service}: a large public resolver; the major lists refuse its queries",
                    note.server
                )?,
                None => writeln!(f, "  {}", note.server)?,
            }
            if let Some(remark) = note.remark {
                writeln!(f, "    {remark}")?;
            }
        }
        writeln!(f, "Lists:")?;
        for list in &self.lists {
            write_list(f, list)?;
        }
        write!(f, "{}", self.summary())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &ListDiagnosis) -> fmt::Result {
    let keyed = if list.keyed { ", keyed" } else { "" };
    writeln!(
        f,
        "  {} ({}{keyed}): {}",
        list.list, list.zone, list.verdict
    )?;
    for point in &list.points {
        writeln!(
            f,
            "    {:<15} {:<20} {}  {} ms",
            point.point,
            point.role.as_str(),
            point.answer_text(),
            point.elapsed.as_millis()
        )?;
    }
    Ok(())
}
