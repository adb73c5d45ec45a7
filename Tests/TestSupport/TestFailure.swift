/// Thrown by a test helper after it has recorded an `XCTFail`, to stop the test that called it.
/// (A helper cannot `return` out of its caller; throwing this is a failure that ends the test.)
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
