/// A user-facing error: one sentence that says what is wrong and where.
public struct TrainerError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
