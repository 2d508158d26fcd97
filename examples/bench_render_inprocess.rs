//! In-process half of `cargo xtask bench render` (built with `--release`): renders kustomize
//! roots and helm charts through the native renderers as `ferry build` and `ferry render
//! kustomize|helm --renderer native` call them, inside one process, so no process start is
//! counted.
//!
//! `bench_render_inprocess REPO RUNS SPEC...`, where SPEC is `PATH=EXPECTED` for a kustomize
//! root or `helm:CHART|RELEASE|NAMESPACE|VALUES|API,API...=EXPECTED` for a chart rendered with
//! `--kube-version 1.31.0` (as the corpus records it). For each: one render checked byte for
//! byte against EXPECTED, a warm-up, then RUNS timed renders. Prints one line per spec,
//! `PATH<TAB>median ns<TAB>min ns<TAB>peak RSS bytes of this process so far<TAB>first render ns`
//! (the first render of a case in the process, which reuses nothing an earlier render of it
//! left: parsed templates, manifest heads, compiled schemas and patterns, the loaded chart;
//! a later case of the same chart does reuse what an earlier case left), and exits 1 when an
//! output differs from EXPECTED.

use ferry::config::{
    ChartRef, HelmFlags, RendererChoice, ResolvedApp, ResolvedHelm, ResolvedSource,
};
use ferry::render::{
    ChartLocation, NativeHelmRenderer, NativeKustomizeRenderer, RenderRequest, Renderer,
};
use ferry::source::WorkTree;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The allocator the `ferry` binary runs with, so that the figures are ferry's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Untimed renders before the timed ones (page faults, allocator arenas, file cache).
const WARM_UP: usize = 3;

/// Peak resident set of this process (`VmHWM`), in bytes; 0 when /proc is not there.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// The app a SPEC describes, the chart location for a helm one, and the name to print.
fn app(spec: &str) -> Result<(ResolvedApp, Option<ChartLocation>, String), String> {
    let Some(helm) = spec.strip_prefix("helm:") else {
        let app = ResolvedApp {
            env: String::new(),
            app: spec.to_string(),
            namespace: None,
            kube_version: String::new(),
            source: ResolvedSource::Kustomize {
                path: spec.to_string(),
                renderer: RendererChoice::Native,
            },
        };
        return Ok((app, None, spec.to_string()));
    };
    let f: Vec<&str> = helm.split('|').collect();
    let [chart, release, namespace, values, apis] = f[..] else {
        return Err(format!(
            "{spec}: expected helm:CHART|RELEASE|NAMESPACE|VALUES|APIS"
        ));
    };
    let app = ResolvedApp {
        env: String::new(),
        app: release.to_string(),
        namespace: Some(namespace.to_string()),
        kube_version: "1.31.0".into(),
        source: ResolvedSource::Helm(ResolvedHelm {
            chart: ChartRef::Local {
                path: chart.to_string(),
            },
            release_name: release.to_string(),
            values: vec![values.to_string()],
            set: Default::default(),
            api_versions: apis
                .split(',')
                .filter(|a| !a.is_empty())
                .map(String::from)
                .collect(),
            include_crds: false,
            skip_schema_validation: false,
            renderer: RendererChoice::Native,
            flags: Box::new(HelmFlags::default()),
            post_render: None,
            secret_values: None,
        }),
    };
    let name = format!("{chart} ({values})");
    Ok((app, Some(ChartLocation::Repo(chart.to_string())), name))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = args
        .get(1)
        .and_then(|r| r.parse::<usize>().ok())
        .filter(|&r| r > 0);
    let (Some(repo), Some(runs)) = (args.first(), runs) else {
        eprintln!("usage: bench_render_inprocess REPO RUNS SPEC...");
        return ExitCode::from(2);
    };
    let tree = WorkTree::open(Path::new(repo));
    for spec in &args[2..] {
        let Some((spec, expected)) = spec.rsplit_once('=') else {
            eprintln!("{spec}: expected SPEC=EXPECTED");
            return ExitCode::from(2);
        };
        let (app, chart, name) = match app(spec) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let renderer: &dyn Renderer = if chart.is_some() {
            &NativeHelmRenderer
        } else {
            &NativeKustomizeRenderer
        };
        let req = RenderRequest {
            tree: &tree,
            app: &app,
            chart: chart.as_ref(),
        };
        let want = match std::fs::read(expected) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{expected}: {e}");
                return ExitCode::from(2);
            }
        };
        // The first render in this process for the case: nothing reused from an earlier
        // render (parsed schemas, compiled patterns, the loaded chart).
        let first = Instant::now();
        let checked = renderer.render(&req);
        let first = first.elapsed();
        match checked {
            Ok(out) if out.as_bytes() == want.as_slice() => {}
            Ok(_) => {
                eprintln!("{name}: in-process native output differs from {expected}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                return ExitCode::FAILURE;
            }
        }
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        for i in 0..WARM_UP + runs {
            let start = Instant::now();
            let out = renderer.render(&req);
            let took = start.elapsed();
            std::hint::black_box(&out);
            if out.is_err() {
                eprintln!("{name}: a later render failed");
                return ExitCode::FAILURE;
            }
            if i >= WARM_UP {
                times.push(took);
            }
        }
        times.sort();
        println!(
            "{name}\t{}\t{}\t{}\t{}",
            times[times.len() / 2].as_nanos(),
            times[0].as_nanos(),
            peak_rss(),
            first.as_nanos()
        );
    }
    ExitCode::SUCCESS
}
