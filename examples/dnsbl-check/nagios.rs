//! `--format nagios`: one status line with perfdata, then detail lines; the state, its
//! thresholds and the lines are the library's (`dnsbl_check::nagios`).

use dnsbl_check::nagios::Plugin;

use dnsbl_check::survey::SurveyReport as Checked;

/// Notes a target's listings and open relay (not its derived addresses: they are added one
/// by one).
pub fn add(plugin: &mut Plugin, checked: &Checked) {
    let report = &checked.report;
    for (result, listing) in report.listings().filter(|(result, _)| result.weight >= 0) {
        plugin.detail(|| {
            let codes: Vec<String> = listing.codes.iter().map(ToString::to_string).collect();
            // A list of weight 0 is named too, as what it is: information, not counted.
            let how = if result.weight == 0 {
                " (weight 0: not counted)"
            } else {
                ""
            };
            let mut line = format!(
                "{} listed on {}{how}: {}",
                report.target,
                crate::output::label(result),
                codes.join(", ")
            );
            if let Some(url) = &result.lookup_url {
                line.push_str(&format!(" {url}"));
            }
            line
        });
    }
    if checked.open_relay() {
        plugin.open_relay(&report.target);
    }
}
