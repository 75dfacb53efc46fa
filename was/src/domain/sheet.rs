//! The printable sheet of QR codes for a store: its return code first, then one code per
//! umbrella, each with a caption, on an A4-wide SVG (millimetres) that prints at true
//! size.

use std::fmt::Write;

use qrcode::{Color, EcLevel, QrCode};

use crate::error::{Error, Result};

/// One code on the sheet.
pub struct Label<'a> {
    pub url: &'a str,
    pub title: &'a str,
    pub caption: &'a str,
}

const PAGE_WIDTH: f64 = 210.0;
const MARGIN: f64 = 12.0;
const COLUMNS: usize = 3;
const CELL_WIDTH: f64 = (PAGE_WIDTH - 2.0 * MARGIN) / COLUMNS as f64;
/// The code's printed size: 40 mm scans from arm's length in the rain.
const CODE_SIZE: f64 = 40.0;
const CELL_HEIGHT: f64 = CODE_SIZE + 22.0;

/// One QR code as an SVG path of its dark modules in a `size`-mm square at (`x`, `y`),
/// with the four-module quiet zone the standard asks for inside the square.
fn code(out: &mut String, url: &str, x: f64, y: f64, size: f64) -> Result<()> {
    // M: 15% of the code may be damaged (a scratched sticker) and still read.
    let qr = QrCode::with_error_correction_level(url, EcLevel::M)
        .map_err(|e| Error::internal(format!("QR code for {url}: {e}")))?;
    let width = qr.width();
    let module = size / (width + 8) as f64;
    let _ = write!(
        out,
        r##"<rect x="{x:.2}" y="{y:.2}" width="{size:.2}" height="{size:.2}" fill="#fff"/><path transform="translate({:.3} {:.3}) scale({module:.4})" fill="#000" d=""##,
        x + 4.0 * module,
        y + 4.0 * module,
    );
    for (i, color) in qr.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let _ = write!(out, "M{} {}h1v1h-1z", i % width, i / width);
        }
    }
    out.push_str(r#""/>"#);
    Ok(())
}

/// Text for an SVG text node.
fn escape(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

pub fn render(labels: &[Label<'_>]) -> Result<String> {
    let rows = labels.len().div_ceil(COLUMNS).max(1);
    let height = 2.0 * MARGIN + rows as f64 * CELL_HEIGHT;
    let mut out = String::with_capacity(4096 + labels.len() * 8192);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_WIDTH}mm" height="{height}mm" viewBox="0 0 {PAGE_WIDTH} {height}" font-family="'Noto Sans KR', 'Apple SD Gothic Neo', sans-serif"><rect width="100%" height="100%" fill="#fff"/>"##
    );
    for (i, label) in labels.iter().enumerate() {
        let x = MARGIN + (i % COLUMNS) as f64 * CELL_WIDTH;
        let y = MARGIN + (i / COLUMNS) as f64 * CELL_HEIGHT;
        let center = x + CELL_WIDTH / 2.0;
        code(&mut out, label.url, center - CODE_SIZE / 2.0, y, CODE_SIZE)?;
        let _ = write!(
            out,
            r##"<text x="{center:.2}" y="{:.2}" font-size="5" font-weight="700" text-anchor="middle" fill="#1d2433">{}</text><text x="{center:.2}" y="{:.2}" font-size="3.4" text-anchor="middle" fill="#6b7385">{}</text>"##,
            y + CODE_SIZE + 7.0,
            escape(label.title),
            y + CODE_SIZE + 13.0,
            escape(label.caption),
        );
    }
    out.push_str("</svg>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_cannot_break_out_of_the_svg() {
        let svg = render(&[Label {
            url: "https://u.example/rent/1?code=abc",
            title: "<script>alert(1)</script>",
            caption: "a & b \"c\"",
        }])
        .expect("renders");
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("a &amp; b &quot;c&quot;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
