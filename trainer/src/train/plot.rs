//! The loss curve: an SVG of training and validation loss per epoch, next to the artifact.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

use super::fit::EpochStats;

/// Writes the training and validation loss of each epoch to `path` as SVG.
pub fn loss_curve(path: &Path, history: &[EpochStats], title: &str) -> anyhow::Result<()> {
    let train: Vec<(f64, f64)> = history.iter().map(|e| (e.epoch as f64, e.train_loss)).collect();
    let val: Vec<(f64, f64)> =
        history.iter().filter_map(|e| e.val_loss.map(|v| (e.epoch as f64, v))).collect();
    let hi = train.iter().chain(&val).map(|p| p.1).fold(0.0f64, f64::max) * 1.05;
    let lo = train.iter().chain(&val).map(|p| p.1).fold(f64::INFINITY, f64::min).min(hi) * 0.95;
    let epochs = history.len().max(2) as f64;
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).context("drawing the loss curve")?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..epochs, lo..hi.max(lo + 1e-6))
        .context("laying out the loss curve")?;
    chart.configure_mesh().x_desc("epoch").y_desc("loss per sample").draw().context("drawing axes")?;
    chart
        .draw_series(LineSeries::new(train, BLUE.stroke_width(2)))
        .context("drawing the training loss")?
        .label("train")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    if !val.is_empty() {
        chart
            .draw_series(LineSeries::new(val, RED.stroke_width(2)))
            .context("drawing the validation loss")?
            .label("validation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    }
    chart.configure_series_labels().border_style(BLACK).draw().context("drawing the legend")?;
    root.present().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
