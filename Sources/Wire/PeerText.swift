/// Text that a peer sent (worker names, REJECT and SHUTDOWN messages), made safe to write into a log line: every
/// control character, quote and backslash becomes a visible escape, and the result is cut at `limit` characters.
public enum PeerText {
    public static func escaped(_ text: String, limit: Int = 256) -> String {
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= limit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default:
                // C0, DEL, C1, and the line/paragraph separators and bidi controls that reorder what a reader sees.
                let v = scalar.value
                if v < 0x20 || (0x7F ... 0x9F).contains(v) || v == 0x2028 || v == 0x2029
                    || (0x202A ... 0x202E).contains(v) || (0x2066 ... 0x2069).contains(v) || v == 0xFEFF {
                    out += "\\u{\(String(v, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
