//! In-process half of `cargo xtask bench render` (built with `--release`): renders kustomize
//! roots through the native renderer as `ferry build` and `ferry render kustomize --renderer
//! native` call it, inside one process, so no process start is counted.
//!
//! `bench_render_inprocess REPO RUNS PATH=EXPECTED...`: for each root, one render checked byte
//! for byte against EXPECTED, a warm-up, then RUNS timed renders. Prints one line per root,
//! `PATH<TAB>median ns<TAB>min ns<TAB>peak RSS bytes of this process so far`, and exits 1 when
//! an output differs from EXPECTED.

use ferry::config::{RendererChoice, ResolvedApp, ResolvedSource};
use ferry::render::{NativeKustomizeRenderer, RenderRequest, Renderer};
use ferry::source::WorkTree;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = args
        .get(1)
        .and_then(|r| r.parse::<usize>().ok())
        .filter(|&r| r > 0);
    let (Some(repo), Some(runs)) = (args.first(), runs) else {
        eprintln!("usage: bench_render_inprocess REPO RUNS PATH=EXPECTED...");
        return ExitCode::from(2);
    };
    let tree = WorkTree::open(Path::new(repo));
    for spec in &args[2..] {
        let Some((path, expected)) = spec.split_once('=') else {
            eprintln!("{spec}: expected PATH=EXPECTED");
            return ExitCode::from(2);
        };
        let app = ResolvedApp {
            env: String::new(),
            app: path.to_string(),
            namespace: None,
            kube_version: String::new(),
            source: ResolvedSource::Kustomize {
                path: path.to_string(),
                renderer: RendererChoice::Native,
            },
        };
        let req = RenderRequest {
            tree: &tree,
            app: &app,
            chart: None,
        };
        let want = match std::fs::read(expected) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("{expected}: {e}");
                return ExitCode::from(2);
            }
        };
        match NativeKustomizeRenderer.render(&req) {
            Ok(out) if out.as_bytes() == want.as_slice() => {}
            Ok(_) => {
                eprintln!("{path}: in-process native output differs from {expected}");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        }
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        for i in 0..WARM_UP + runs {
            let start = Instant::now();
            let out = NativeKustomizeRenderer.render(&req);
            let took = start.elapsed();
            std::hint::black_box(&out);
            if out.is_err() {
                eprintln!("{path}: a later render failed");
                return ExitCode::FAILURE;
            }
            if i >= WARM_UP {
                times.push(took);
            }
        }
        times.sort();
        println!(
            "{path}\t{}\t{}\t{}",
            times[times.len() / 2].as_nanos(),
            times[0].as_nanos(),
            peak_rss()
        );
    }
    ExitCode::SUCCESS
}
