//! The 60-second graphs: a [`Series`] or two drawn on a `<canvas>`, with labelled axes, in the page's own colours.

use crate::stats::{axis_label, axis_top, Series, HISTORY};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

/// Room around the plot for the axis labels, in CSS pixels.
const LEFT: f64 = 46.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 20.0;

/// One canvas and the unit of its y axis.
pub struct Graph {
    canvas: HtmlCanvasElement,
    unit: &'static str,
}

impl Graph {
    pub fn new(canvas: HtmlCanvasElement, unit: &'static str) -> Self {
        Self { canvas, unit }
    }

    /// Redraws the graph: the first series in `--accent`, the second in `--accent-2`. Colours
    /// come from the stylesheet, so light and dark schemes both read well.
    pub fn draw(&self, series: &[&Series]) {
        let Some(ctx) = self.context() else { return };
        let (width, height) = self.fit();
        let color = |name: &str| {
            web_sys::window()
                .and_then(|w| w.get_computed_style(&self.canvas).ok().flatten())
                .and_then(|style| style.get_property_value(name).ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "gray".to_owned())
        };
        let (plot_w, plot_h) = (width - LEFT - RIGHT, height - TOP - BOTTOM);
        if plot_w <= 0.0 || plot_h <= 0.0 {
            return;
        }
        ctx.clear_rect(0.0, 0.0, width, height);
        ctx.set_font("11px system-ui, sans-serif");
        ctx.set_line_width(1.0);

        let top = axis_top(series.iter().filter_map(|s| s.max()).fold(0.0, f64::max));
        let y_of = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));
        let muted = color("--muted");
        ctx.set_stroke_style_str(&color("--line"));
        ctx.set_fill_style_str(&muted);
        ctx.set_text_align("right");
        ctx.set_text_baseline("middle");
        for value in [0.0, top / 2.0, top] {
            let y = y_of(value).round() + 0.5;
            ctx.begin_path();
            ctx.move_to(LEFT, y);
            ctx.line_to(LEFT + plot_w, y);
            ctx.stroke();
            let _ = ctx.fill_text(&axis_label(value), LEFT - 6.0, y);
        }
        ctx.set_text_align("left");
        ctx.set_text_baseline("top");
        let _ = ctx.fill_text(self.unit, 2.0, 0.0);
        ctx.set_text_baseline("bottom");
        for (label, x, align) in [
            ("−60 s", LEFT, "left"),
            ("−30 s", LEFT + plot_w / 2.0, "center"),
            ("now", LEFT + plot_w, "right"),
        ] {
            ctx.set_text_align(align);
            let _ = ctx.fill_text(label, x, height);
        }

        let step = plot_w / (HISTORY - 1) as f64;
        // The first line wide, the second thin on top of it: where sent and received agree, both
        // stay visible.
        for ((series, name), width) in series
            .iter()
            .zip(["--accent", "--accent-2"])
            .zip([3.5, 1.5])
        {
            ctx.set_line_width(width);
            let values: Vec<Option<f64>> = series.values().collect();
            // The newest sample sits at the right edge; older ones to its left.
            let first_x = LEFT + plot_w - step * values.len().saturating_sub(1) as f64;
            ctx.set_stroke_style_str(&color(name));
            ctx.begin_path();
            let mut drawing = false;
            for (i, value) in values.into_iter().enumerate() {
                let x = first_x + step * i as f64;
                match value {
                    Some(v) if drawing => ctx.line_to(x, y_of(v)),
                    Some(v) => {
                        ctx.move_to(x, y_of(v));
                        drawing = true;
                    }
                    None => drawing = false,
                }
            }
            ctx.stroke();
        }
    }

    pub fn clear(&self) {
        if let Some(ctx) = self.context() {
            let (width, height) = self.fit();
            ctx.clear_rect(0.0, 0.0, width, height);
        }
    }

    fn context(&self) -> Option<CanvasRenderingContext2d> {
        self.canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into().ok())
    }

    /// Sizes the bitmap to the element's CSS size × devicePixelRatio (sharp on HiDPI screens)
    /// and returns the CSS size drawing happens in.
    fn fit(&self) -> (f64, f64) {
        let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
        let (width, height) = (
            f64::from(self.canvas.client_width()),
            f64::from(self.canvas.client_height()),
        );
        let (bitmap_w, bitmap_h) = ((width * ratio) as u32, (height * ratio) as u32);
        if self.canvas.width() != bitmap_w || self.canvas.height() != bitmap_h {
            self.canvas.set_width(bitmap_w);
            self.canvas.set_height(bitmap_h);
        }
        if let Some(ctx) = self.context() {
            let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
        }
        (width, height)
    }
}
