import Foundation

/// A user's mistake in a bench invocation, in one sentence.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
