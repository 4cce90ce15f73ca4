//! Charts for the HR pages, drawn here as SVG that needs no JavaScript. Hand-written rather
//! than from a plotting crate: two chart shapes (bars of shares, ratios with intervals) are a
//! few lines of SVG each, and this way every mark carries its own accessible text and a cell
//! the table hides can have no mark at all. The figures come as the core computed them
//! (`Shown` values); nothing is recomputed here.
//!
//! Groups are told apart by direct labels on every bar, never by colour alone; the colours
//! are the NHS.UK palette's (blue on white passes AA contrast for graphics).

use fasttrack_core::reports::Shown;

const BLUE: &str = "#005eb8";
const TEXT: &str = "#212b32";
const GRID: &str = "#aeb7bd";
const GREY: &str = "#4c6272";

/// Text for XML: `&`, `<`, `>`, quotes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// One group's shares at every stage.
pub struct Series<'a> {
    pub label: &'a str,
    pub values: &'a [Shown<f64>],
}

/// Grouped horizontal bars: for each stage, one bar per group, its length the group's share
/// of everyone at the stage (0–100%). A hidden share is written `[c]` with no bar; a stage
/// nobody reached, `–`.
pub fn shares(id: &str, title: &str, desc: &str, stages: &[String], series: &[Series<'_>]) -> String {
    // Each group's label on its own line above its bar, so a long category name never runs
    // into the bars.
    const LEFT: f64 = 16.0;
    const BAR_W: f64 = 600.0;
    const ROW_H: f64 = 38.0;
    const HEAD_H: f64 = 30.0;
    const TOP: f64 = 40.0;
    let width = LEFT + BAR_W + 90.0;
    let block = HEAD_H + ROW_H * series.len() as f64 + 8.0;
    let height = TOP + block * stages.len() as f64 + 40.0;
    let x = |pct: f64| LEFT + BAR_W * pct.clamp(0.0, 100.0) / 100.0;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="ft-chart" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {width} {height}" width="100%" font-family="Arial, sans-serif" font-size="14">"#
    );
    s.push_str(&format!(r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#, esc(title), esc(desc)));
    // The axis: gridlines at every quarter, labelled above and below.
    for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let tx = x(tick);
        s.push_str(&format!(
            r#"<line x1="{tx}" y1="{}" x2="{tx}" y2="{}" stroke="{GRID}" stroke-width="1"/>"#,
            TOP - 6.0,
            height - 34.0
        ));
        s.push_str(&format!(r#"<text x="{tx}" y="{}" text-anchor="middle" fill="{TEXT}">{tick}%</text>"#, TOP - 12.0));
        s.push_str(&format!(
            r#"<text x="{tx}" y="{}" text-anchor="middle" fill="{TEXT}">{tick}%</text>"#,
            height - 18.0
        ));
    }
    s.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{TEXT}" font-weight="bold">Share of everyone at the stage (%)</text>"#,
        LEFT + BAR_W / 2.0,
        height - 2.0
    ));
    for (i, stage) in stages.iter().enumerate() {
        let top = TOP + block * i as f64;
        s.push_str(&format!(
            r#"<text x="0" y="{}" fill="{TEXT}" font-weight="bold" font-size="16" class="stage">{}</text>"#,
            top + 20.0,
            esc(stage)
        ));
        for (j, g) in series.iter().enumerate() {
            let y = top + HEAD_H + ROW_H * j as f64;
            s.push_str(&format!(
                r#"<text x="{LEFT}" y="{}" fill="{TEXT}" font-size="13">{}</text>"#,
                y + 12.0,
                esc(g.label)
            ));
            let bar_y = y + 16.0;
            match g.values.get(i) {
                Some(Shown::Value(p)) => {
                    let end = x(*p);
                    s.push_str(&format!(
                        r#"<rect class="bar" x="{LEFT}" y="{bar_y}" width="{:.1}" height="16" fill="{BLUE}"><title>{}, {}: {p}%</title></rect>"#,
                        (end - LEFT).max(0.0),
                        esc(g.label),
                        esc(stage)
                    ));
                    s.push_str(&format!(r#"<text x="{}" y="{}" fill="{TEXT}">{p}%</text>"#, end + 6.0, bar_y + 13.0));
                }
                Some(Shown::Hidden(h)) => s.push_str(&format!(
                    r#"<text x="{}" y="{}" fill="{GREY}">{}</text>"#,
                    LEFT + 6.0,
                    bar_y + 13.0,
                    esc(h)
                )),
                _ => s.push_str(&format!(r#"<text x="{}" y="{}" fill="{GREY}">–</text>"#, LEFT + 6.0, bar_y + 13.0)),
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One relative likelihood with its 95% interval.
pub struct Ratio<'a> {
    pub label: &'a str,
    pub ratio: Shown<f64>,
    pub low: Shown<f64>,
    pub high: Shown<f64>,
}

/// Points with their 95% intervals against the line of 1 (equally likely). A hidden ratio is
/// written "hidden" with no mark.
pub fn ratios(id: &str, title: &str, desc: &str, rows: &[Ratio<'_>]) -> String {
    const LABEL_W: f64 = 200.0;
    const PLOT_W: f64 = 480.0;
    const ROW_H: f64 = 40.0;
    const TOP: f64 = 30.0;
    let value = |s: &Shown<f64>| if let Shown::Value(v) = s { Some(*v) } else { None };
    let most = rows.iter().filter_map(|r| value(&r.high)).fold(2.0f64, f64::max).min(10.0).ceil();
    let width = LABEL_W + PLOT_W + 60.0;
    let height = TOP + ROW_H * rows.len() as f64 + 50.0;
    let x = |v: f64| LABEL_W + PLOT_W * v.clamp(0.0, most) / most;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="ft-chart" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {width} {height}" width="100%" font-family="Arial, sans-serif" font-size="14">"#
    );
    s.push_str(&format!(r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#, esc(title), esc(desc)));
    let bottom = TOP + ROW_H * rows.len() as f64;
    let mut tick = 0.0;
    while tick <= most + 1e-9 {
        let tx = x(tick);
        s.push_str(&format!(
            r#"<line x1="{tx}" y1="{TOP}" x2="{tx}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>"#
        ));
        s.push_str(&format!(
            r#"<text x="{tx}" y="{}" text-anchor="middle" fill="{TEXT}">{tick}</text>"#,
            bottom + 18.0
        ));
        tick += if most > 4.0 { 1.0 } else { 0.5 };
    }
    let one = x(1.0);
    s.push_str(&format!(
        r#"<line x1="{one}" y1="{}" x2="{one}" y2="{bottom}" stroke="{TEXT}" stroke-width="2" stroke-dasharray="6 4"/><text x="{one}" y="{}" text-anchor="middle" fill="{TEXT}">1 = equally likely</text>"#,
        TOP - 8.0,
        TOP - 12.0
    ));
    s.push_str(&format!(
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{TEXT}" font-weight="bold">Relative likelihood, with its 95% interval</text>"#,
        LABEL_W + PLOT_W / 2.0,
        bottom + 42.0
    ));
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64 + ROW_H / 2.0;
        s.push_str(&format!(r#"<text x="0" y="{}" fill="{TEXT}">{}</text>"#, y + 5.0, esc(r.label)));
        match (value(&r.ratio), value(&r.low), value(&r.high)) {
            (Some(v), Some(lo), Some(hi)) => {
                s.push_str(&format!(
                    r#"<g class="mark"><title>{}: {v:.2} (95% interval {lo:.2} to {hi:.2})</title><line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{BLUE}" stroke-width="3"/><circle cx="{}" cy="{y}" r="7" fill="{BLUE}"/></g>"#,
                    esc(r.label),
                    x(lo),
                    x(hi),
                    x(v)
                ));
                s.push_str(&format!(r#"<text x="{}" y="{}" fill="{TEXT}">{v:.2}</text>"#, x(v) + 10.0, y - 10.0));
            }
            _ => s.push_str(&format!(
                r#"<text x="{}" y="{}" fill="{GREY}">{}</text>"#,
                LABEL_W + 6.0,
                y + 5.0,
                if matches!(r.ratio, Shown::Hidden(_)) { "hidden" } else { "not defined" }
            )),
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
    }

    #[test]
    fn a_bar_chart_is_xml_with_a_title_and_one_bar_per_shown_share() {
        let stages = vec!["Submitted".to_owned(), "Shortlisted".to_owned()];
        let white = [Shown::Value(60.0), Shown::Hidden("[c]")];
        let bme = [Shown::Value(40.0), Shown::Undefined];
        let svg = shares(
            "f",
            "Ethnicity <& stage>",
            "desc",
            &stages,
            &[Series { label: "White", values: &white }, Series { label: "BME & other", values: &bme }],
        );
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        let title = root.children().find(|n| n.has_tag_name("title")).unwrap();
        assert_eq!(title.text(), Some("Ethnicity <& stage>"));
        let bars: Vec<_> = root.descendants().filter(|n| n.attribute("class") == Some("bar")).collect();
        assert_eq!(bars.len(), 2, "the hidden and the undefined share draw nothing");
        let widths: Vec<f64> = bars.iter().map(|b| b.attribute("width").unwrap().parse().unwrap()).collect();
        assert_eq!(widths, [360.0, 240.0], "60% and 40% of the bar width");
        assert!(svg.contains(">[c]<"), "the hidden share is written as [c]");
    }

    #[test]
    fn a_ratio_chart_marks_shown_ratios_only_against_the_line_of_one() {
        let svg = ratios(
            "r",
            "WRES 2",
            "desc",
            &[
                Ratio {
                    label: "White vs BME",
                    ratio: Shown::Value(1.5),
                    low: Shown::Value(1.1),
                    high: Shown::Value(2.2),
                },
                Ratio {
                    label: "Non-disabled vs disabled",
                    ratio: Shown::Hidden("[c]"),
                    low: Shown::Hidden("[c]"),
                    high: Shown::Hidden("[c]"),
                },
            ],
        );
        let doc = parse(&svg);
        let marks = doc.descendants().filter(|n| n.attribute("class") == Some("mark")).count();
        assert_eq!(marks, 1);
        assert!(svg.contains("1 = equally likely") && svg.contains(">hidden<"));
    }
}
