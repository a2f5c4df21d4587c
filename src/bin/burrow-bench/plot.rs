//! PNG plots (plotters): steady throughput against the worker count, and the end-to-end latency
//! CDF of each contender. Text is drawn with a TrueType font found on the system (DejaVu Sans or
//! `$BURROW_BENCH_FONT`); without one the plots are skipped with a note.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::report::{summarize, Row};
use crate::BenchArgs;

const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn load_font() -> Result<(), String> {
    let path = std::env::var("BURROW_BENCH_FONT")
        .ok()
        .or_else(|| {
            FONTS
                .iter()
                .find(|p| Path::new(p).exists())
                .map(|p| p.to_string())
        })
        .ok_or("no TrueType font found (set BURROW_BENCH_FONT to a .ttf file)")?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    register_font("sans-serif", FontStyle::Normal, bytes)
        .map_err(|_| format!("{path}: not a usable font"))
}

fn color(path: &str) -> RGBColor {
    match path {
        "bare" => RGBColor(90, 90, 90),
        "rust" => RGBColor(200, 80, 20),
        "c" => RGBColor(30, 100, 200),
        "java" => RGBColor(150, 150, 150),
        "pc" => RGBColor(150, 60, 160),
        _ => RGBColor(20, 150, 120),
    }
}

pub fn draw(args: &BenchArgs, rows: &[Row]) -> Result<(), String> {
    if rows.is_empty() {
        return Ok(());
    }
    load_font()?;
    if args.workers.len() > 1 && args.rate.is_none() {
        let file = args.out.join("throughput-vs-workers.png");
        throughput(&file, args, rows).map_err(|e| e.to_string())?;
        eprintln!("burrow-bench: plot {}", file.display());
    }
    if args.rate.is_some() {
        let file = args.out.join("latency-cdf.png");
        latency_cdf(&file, args, rows).map_err(|e| e.to_string())?;
        eprintln!("burrow-bench: plot {}", file.display());
    }
    Ok(())
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn throughput(file: &Path, args: &BenchArgs, rows: &[Row]) -> DrawResult {
    let sums = summarize(rows);
    let ymax = sums
        .iter()
        .map(|s| s.steady)
        .filter(|v| v.is_finite())
        .fold(1.0, f64::max)
        * 1.1;
    let xmin = *args.workers.iter().min().unwrap_or(&1) as f64;
    let xmax = *args.workers.iter().max().unwrap_or(&1) as f64;
    let root = BitMapBackend::new(file, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "steady throughput vs workers (work {} ms, {} partitions)",
                args.work_ms, args.partitions
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((xmin..xmax * 1.05).log_scale(), 0.0..ymax)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("msg/s")
        .label_style(("sans-serif", 14))
        .draw()?;
    for path in crate::PATHS {
        let pts: Vec<(f64, f64)> = sums
            .iter()
            .filter(|s| s.path == path)
            .map(|s| (s.workers as f64, s.steady))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let c = color(path);
        if crate::is_bare_loop(path) {
            let y = pts[0].1;
            chart
                .draw_series(LineSeries::new(
                    vec![(xmin, y), (xmax, y)],
                    c.stroke_width(2),
                ))?
                .label("bare loop (no work)")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
            continue;
        }
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
            .label(path)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, c.filled())))?;
    }
    if args.work_ms > 0 {
        let ideal: Vec<(f64, f64)> = args
            .workers
            .iter()
            .map(|&w| {
                (
                    w as f64,
                    (w as f64 * 1000.0 / args.work_ms as f64).min(ymax),
                )
            })
            .collect();
        chart
            .draw_series(LineSeries::new(ideal, BLACK.mix(0.4).stroke_width(1)))?
            .label("ideal (workers / work time)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.4)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The round to draw of each contender and worker count: the one with the median p99 (the lower
/// middle of an even count), so a curve shows what the summary's medians describe.
fn median_rounds(rows: &[Row]) -> Vec<&Row> {
    let mut keys: Vec<(&str, usize)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.path.as_str(), r.workers)) {
            keys.push((r.path.as_str(), r.workers));
        }
    }
    keys.into_iter()
        .map(|(path, workers)| {
            let mut rounds: Vec<&Row> = rows
                .iter()
                .filter(|r| r.path == path && r.workers == workers)
                .collect();
            rounds.sort_by(|a, b| a.p99.total_cmp(&b.p99));
            rounds[(rounds.len() - 1) / 2]
        })
        .collect()
}

fn latency_cdf(file: &Path, args: &BenchArgs, rows: &[Row]) -> DrawResult {
    let mut curves = Vec::new();
    for r in median_rounds(rows) {
        let f = args
            .out
            .join(format!("latency-{}-{}w-r{}.txt", r.path, r.workers, r.rep));
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let v: Vec<f64> = text
            .lines()
            .filter_map(|l| l.parse::<f64>().ok())
            .map(|us| (us / 1000.0).max(0.01))
            .collect();
        if !v.is_empty() {
            curves.push((r.path.clone(), r.workers, r.rep, v));
        }
    }
    let xmax = curves
        .iter()
        .filter_map(|c| c.3.last().copied())
        .fold(1.0, f64::max)
        * 1.2;
    let root = BitMapBackend::new(file, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "end-to-end latency CDF: {} records/s, work {} ms",
                args.rate.unwrap_or(0),
                args.work_ms
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0.1..xmax).log_scale(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, record timestamp → completion)")
        .y_desc("fraction of records")
        .label_style(("sans-serif", 14))
        .draw()?;
    let rounds = args.repeat;
    for (path, workers, rep, v) in &curves {
        let n = v.len() as f64;
        let step = (v.len() / 2000).max(1);
        let mut pts: Vec<(f64, f64)> = v
            .iter()
            .enumerate()
            .step_by(step)
            .map(|(i, &x)| (x.max(0.1), (i + 1) as f64 / n))
            .collect();
        pts.push((v[v.len() - 1].max(0.1), 1.0));
        let c = color(path);
        chart
            .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
            .label(if rounds > 1 {
                format!("{path} ({workers} workers, round {} of {rounds})", rep + 1)
            } else {
                format!("{path} ({workers} workers)")
            })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, workers: usize, rep: usize, p99: f64) -> Row {
        Row {
            path: path.into(),
            workers,
            rep,
            p99,
            ..Row::default()
        }
    }

    #[test]
    fn the_cdf_draws_each_contenders_median_round() {
        let rows = [
            row("rust", 1000, 0, 100.9),
            row("c", 1000, 0, 40.0),
            row("rust", 1000, 1, 12.7),
            row("c", 1000, 1, 20.0),
            row("rust", 1000, 2, 27.5),
            row("rust", 16, 0, 5.0),
        ];
        let picked: Vec<(&str, usize, usize)> = median_rounds(&rows)
            .iter()
            .map(|r| (r.path.as_str(), r.workers, r.rep))
            .collect();
        // Three rounds: the middle p99 (27.5); two: the lower (20.0); one: that one.
        assert_eq!(picked, [("rust", 1000, 2), ("c", 1000, 1), ("rust", 16, 0)]);
    }
}
