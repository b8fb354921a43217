//! `--check-setup`: can this resolver see the lists? The diagnosis and its text are the
//! library's (`dnsbl_check::setup`); this file only finds the name servers in use, and writes
//! the JSON form.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use dnsbl_check::cli::ListOptions;
use dnsbl_check::resolver::any::AnyResolver;
use dnsbl_check::resolver::pooled::PooledUdpResolver;
use dnsbl_check::setup::{Diagnosis, diagnose};
use dnsbl_check::{Config, NameServer};

use crate::Format;

/// Runs the diagnosis on `resolver` and prints it; the exit status is the diagnosis's own
/// (0 every list works, 1 a public resolver is in use, 2 some list cannot be trusted).
pub fn run(
    lists: &ListOptions,
    config: &Config,
    resolver: AnyResolver,
    format: Format,
) -> Result<ExitCode, String> {
    let checked = lists.lists(config)?;
    let servers = name_servers(lists, config, &resolver);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let diagnosis = runtime.block_on(diagnose(&resolver, &servers, &checked));
    let mut out = BufWriter::new(io::stdout().lock());
    let written = match format {
        Format::Json => write_json(&mut out, &diagnosis),
        _ => writeln!(out, "{diagnosis}"),
    };
    if let Err(error) = written.and_then(|()| out.flush())
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(format!("cannot write output: {error}"));
    }
    Ok(ExitCode::from(diagnosis.exit_code()))
}

/// The name servers queries go to: the pooled transport knows them; for the stock one, the
/// same options read by the pooled builder (which opens no socket) give the same servers.
fn name_servers(lists: &ListOptions, config: &Config, resolver: &AnyResolver) -> Vec<NameServer> {
    match resolver {
        AnyResolver::Pooled(pooled) => pooled.name_servers(),
        _ => PooledUdpResolver::builder()
            .options(lists.resolver_options(config))
            .build()
            .map(|pooled| pooled.name_servers())
            .unwrap_or_default(),
    }
}

fn write_json(out: &mut impl Write, diagnosis: &Diagnosis) -> io::Result<()> {
    let resolvers: Vec<serde_json::Value> = diagnosis
        .resolvers
        .iter()
        .map(|note| {
            serde_json::json!({
                "server": note.server.to_string(),
                "public": note.public,
                "remark": note.remark,
            })
        })
        .collect();
    let lists: Vec<serde_json::Value> = diagnosis
        .lists
        .iter()
        .map(|list| {
            let points: Vec<serde_json::Value> = list
                .points
                .iter()
                .map(|point| {
                    serde_json::json!({
                        "point": point.point,
                        "role": point.role.as_str(),
                        "status": point.outcome.status(),
                        "answer": point.answer_text(),
                        "ms": point.elapsed.as_secs_f64() * 1000.0,
                    })
                })
                .collect();
            serde_json::json!({
                "list": list.list,
                "zone": list.zone,
                "keyed": list.keyed,
                "verdict": list.verdict.as_str(),
                "detail": list.verdict.to_string(),
                "points": points,
            })
        })
        .collect();
    let value = serde_json::json!({
        "ok": diagnosis.ok(),
        "summary": diagnosis.summary(),
        "resolvers": resolvers,
        "lists": lists,
    });
    writeln!(out, "{value}")
}
