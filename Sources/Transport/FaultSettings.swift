#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which faults to inject into sent messages, and how often. Parsed from text such as
/// `drop=0.05,duplicate=0.05,delay=0.02,reorder=0.02,corrupt=0.01,seed=7` (a flag, or `MBT_FAULTS`).
///
/// Keys: `drop`, `duplicate`, `delay`, `reorder`, `corrupt` (probabilities per message, 0…1), `delayms` (how long a
/// delayed message is held, default 50), `seed` (of the fault stream, default 0). Missing keys are 0.
public struct FaultSettings: Equatable, Sendable, CustomStringConvertible {
    public var drop = 0.0
    public var duplicate = 0.0
    public var delay = 0.0
    public var reorder = 0.0
    public var corrupt = 0.0
    public var delayMilliseconds = 50
    public var seed: UInt64 = 0

    /// No faults.
    public static let none = FaultSettings()

    public init(drop: Double = 0, duplicate: Double = 0, delay: Double = 0, reorder: Double = 0, corrupt: Double = 0,
                delayMilliseconds: Int = 50, seed: UInt64 = 0) {
        self.drop = drop
        self.duplicate = duplicate
        self.delay = delay
        self.reorder = reorder
        self.corrupt = corrupt
        self.delayMilliseconds = delayMilliseconds
        self.seed = seed
    }

    /// Whether any fault can happen.
    public var isEnabled: Bool { drop > 0 || duplicate > 0 || delay > 0 || reorder > 0 || corrupt > 0 }

    public static let environmentVariable = "MBT_FAULTS"
    static let keys = ["drop", "duplicate", "delay", "reorder", "corrupt", "delayms", "seed"]

    /// Parses `key=value` pairs separated by commas; an empty string is no faults.
    public init(parsing text: String) throws(FaultSettingsError) {
        self.init()
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = pair[0].trimmingSpaces
            guard pair.count == 2, !key.isEmpty else { throw FaultSettingsError(text: text, problem: "expected key=value, got \"\(item.trimmingSpaces)\"") }
            let value = pair[1].trimmingSpaces
            func probability() throws(FaultSettingsError) -> Double {
                guard let p = Double(value), p >= 0, p <= 1 else {
                    throw FaultSettingsError(text: text, problem: "\(key)=\(value): expected a probability between 0 and 1")
                }
                return p
            }
            switch key {
            case "drop": drop = try probability()
            case "duplicate": duplicate = try probability()
            case "delay": delay = try probability()
            case "reorder": reorder = try probability()
            case "corrupt": corrupt = try probability()
            case "delayms":
                guard let ms = Int(value), ms >= 0, ms <= 60_000 else {
                    throw FaultSettingsError(text: text, problem: "delayms=\(value): expected milliseconds between 0 and 60000")
                }
                delayMilliseconds = ms
            case "seed":
                guard let s = UInt64(value) else {
                    throw FaultSettingsError(text: text, problem: "seed=\(value): expected an unsigned integer")
                }
                seed = s
            default:
                throw FaultSettingsError(text: text, problem: "unknown key \"\(key)\" (known: \(Self.keys.joined(separator: ", ")))")
            }
        }
    }

    /// The settings in `MBT_FAULTS`, or `.none` when it is unset or empty.
    public static func fromEnvironment() throws(FaultSettingsError) -> FaultSettings {
        guard let raw = getenv(environmentVariable) else { return .none }
        do {
            return try FaultSettings(parsing: String(cString: raw))
        } catch {
            throw FaultSettingsError(text: error.text, problem: error.problem, source: environmentVariable)
        }
    }

    /// The canonical text form, which `init(parsing:)` reads back.
    public var description: String {
        "drop=\(drop),duplicate=\(duplicate),delay=\(delay),reorder=\(reorder),corrupt=\(corrupt),delayms=\(delayMilliseconds),seed=\(seed)"
    }
}

/// A fault string that could not be parsed.
public struct FaultSettingsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let text: String
    public let problem: String
    /// Where the text came from, e.g. "MBT_FAULTS"; nil for a flag or literal.
    public var source: String?

    public init(text: String, problem: String, source: String? = nil) {
        self.text = text
        self.problem = problem
        self.source = source
    }

    public var description: String { "bad fault settings \(source.map { "in \($0) " } ?? "")\"\(text)\": \(problem)" }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
