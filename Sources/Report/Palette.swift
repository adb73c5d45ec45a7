/// Colours that stay apart for readers with the common colour-vision deficiencies (Okabe and Ito's palette, with
/// black last), and the page's greys.
public enum Palette {
    public static let series = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F6A00", "#000000"]
    public static let axis = "#444444"
    public static let grid = "#e4e4e4"
    public static let muted = "#777777"

    /// The colour of series `index` (wraps around).
    public static func color(_ index: Int) -> String { series[((index % series.count) + series.count) % series.count] }
}
