/// Lets one log line per key through every `seconds`, counting the ones held back.
struct LogThrottle {
    let seconds: Double
    private var last: [String: (time: Double, suppressed: Int)] = [:]

    init(seconds: Double) { self.seconds = seconds }

    /// Whether to log now, and how many lines for this key were held back since the last one logged.
    mutating func allow(_ key: String, now: Double) -> (Bool, suppressed: Int) {
        if let entry = last[key], now - entry.time < seconds {
            last[key] = (entry.time, entry.suppressed + 1)
            return (false, 0)
        }
        let suppressed = last[key]?.suppressed ?? 0
        if last.count > 1000 { last.removeAll() }
        last[key] = (now, 0)
        return (true, suppressed)
    }
}
