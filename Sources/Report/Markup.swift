import Foundation

/// Text and numbers as they go into SVG and HTML: every string from a run (dataset names, file paths, worker names,
/// reasons) passes through `escape`, so that no byte of a metrics file can become markup.
public enum Markup {
    /// `&`, `<`, `>`, `"` and `'` as entities; control characters other than tab and newline dropped (they are not
    /// legal in XML 1.0).
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0x7F ... 0x9F).contains(scalar.value) || scalar.value == 0xFFFE
                    || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A coordinate for SVG: at most two decimals, no exponent, "0" for anything not finite.
    public static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded)
    }

    /// A figure for a reader: `digits` significant digits, thousands grouped, "–" when not finite.
    public static func figure(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return "–" }
        let magnitude = abs(value)
        if magnitude >= 1e15 { return String(format: "%.3g", value) }
        if magnitude >= 1000 || value == value.rounded() && magnitude >= 1 {
            return grouped(Int(value.rounded()))
        }
        if magnitude == 0 { return "0" }
        let decimals = max(0, digits - 1 - Int(floor(log10(magnitude))))
        return String(format: "%.\(min(decimals, 8))f", value)
    }

    /// An integer with thin spaces between groups of three digits.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "\u{2009}" }
            out.append(c)
        }
        return value < 0 ? "−" + out : out
    }

    /// Bytes in the unit that reads best (B, KiB, MiB, GiB).
    public static func bytes(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = value, u = 0
        while abs(v) >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[u])
    }

    /// Seconds as "42 s", "3 min 05 s" or "1 h 02 min".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "–" }
        if seconds < 10 { return String(format: "%.1f s", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return String(format: "%d min %02d s", s / 60, s % 60) }
        return String(format: "%d h %02d min", s / 3600, s % 3600 / 60)
    }
}
