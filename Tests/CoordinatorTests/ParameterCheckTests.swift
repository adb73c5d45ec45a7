@testable import Coordinator
import Kernels
import XCTest

final class ParameterCheckTests: XCTestCase {
    let check = ParameterCheck(dim: 2, temperature: 0.1)

    func testTheLimitKeepsSimilaritiesFarFromOverflow() {
        let c = ParameterCheck(dim: 64, temperature: 0.1)
        XCTAssertEqual(Double(c.limit), 4.6e16, accuracy: 1e15)
        // The largest dot product of two rows at the limit, over τ, is finite with room to spare.
        XCTAssertLessThan(64 * c.limit * c.limit / 0.1, Float.greatestFiniteMagnitude / 100)
        XCTAssertEqual(check.firstOutOfRange(in: StepDelta(baseVersion: 0, version: 1,
            users: SparseRows(dim: 2, ids: [3], values: [0, check.limit * 2]), items: SparseRows(dim: 2),
            bank: SparseRows(dim: 2))), "user row 3 holds \(check.limit * 2), beyond ±\(check.limit) where similarities could overflow")
    }

    func testFindsTheFirstNonFiniteValueOfADeltaAndNamesItsRow() {
        var delta = StepDelta.empty(at: 1, dim: 2)
        XCTAssertNil(check.firstOutOfRange(in: delta))
        delta.users = SparseRows(dim: 2, ids: [4, 9], values: [1, 2, 3, 4])
        delta.bank = SparseRows(dim: 2, ids: [7], values: [0, 1e15])
        XCTAssertNil(check.firstOutOfRange(in: delta))
        delta.items = SparseRows(dim: 2, ids: [5, 8], values: [0, 0, -.infinity, 1])
        XCTAssertEqual(check.firstOutOfRange(in: delta), "item row 8 holds -inf")
        delta.users.values[1] = .nan
        XCTAssertEqual(check.firstOutOfRange(in: delta), "user row 4 holds nan")
    }

    func testFindsANonFiniteValueAnywhereInTheState() {
        let state = TrainingState(userCount: 3, itemCount: 5, dim: 4, initStd: 0.1, seed: 1, momentum: 0.5,
                                  optimizer: OptimizerSettings())
        XCTAssertNil(check.firstOutOfRange(in: state))
        state.bank.table.withUnsafeMutableValues { $0[4 * 4 + 3] = .infinity }
        XCTAssertEqual(check.firstOutOfRange(in: state), "bank row 4 holds inf")
        state.items.withUnsafeMutableValues { $0[2] = .nan }
        XCTAssertEqual(check.firstOutOfRange(in: state), "item row 0 holds nan")
    }
}
