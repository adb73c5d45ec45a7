/// Why a decoded message from a peer was not used: the REJECT reason its sender is told, a short stable key that
/// counts it (`metrics.jsonl`'s `rejected` object), and a sentence for the log.
public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
    public let reason: RejectReason
    /// Stable, snake_case: `gradient_not_finite`, `not_assigned`, …
    public let key: String
    public let detail: String

    public init(_ reason: RejectReason, _ key: String, _ detail: String) {
        self.reason = reason
        self.key = key
        self.detail = detail
    }

    /// A content rule broken (`RejectReason.invalidContent`).
    public static func invalid(_ key: String, _ detail: String) -> Refusal { Refusal(.invalidContent, key, detail) }

    public var description: String { "\(key): \(detail)" }
}
