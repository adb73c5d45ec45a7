@testable import Coordinator
import Kernels
import XCTest

final class ParameterCheckTests: XCTestCase {
    func testFindsTheFirstNonFiniteValueOfADeltaAndNamesItsRow() {
        var delta = StepDelta.empty(at: 1, dim: 2)
        XCTAssertNil(ParameterCheck.firstNonFinite(in: delta))
        delta.users = SparseRows(dim: 2, ids: [4, 9], values: [1, 2, 3, 4])
        delta.bank = SparseRows(dim: 2, ids: [7], values: [0, 1e38])
        XCTAssertNil(ParameterCheck.firstNonFinite(in: delta))
        delta.items = SparseRows(dim: 2, ids: [5, 8], values: [0, 0, -.infinity, 1])
        XCTAssertEqual(ParameterCheck.firstNonFinite(in: delta), "item row 8 holds -inf")
        delta.users.values[1] = .nan
        XCTAssertEqual(ParameterCheck.firstNonFinite(in: delta), "user row 4 holds nan")
    }

    func testFindsANonFiniteValueAnywhereInTheState() {
        let state = TrainingState(userCount: 3, itemCount: 5, dim: 4, initStd: 0.1, seed: 1, momentum: 0.5,
                                  optimizer: OptimizerSettings())
        XCTAssertNil(ParameterCheck.firstNonFinite(in: state))
        state.bank.table.withUnsafeMutableValues { $0[4 * 4 + 3] = .infinity }
        XCTAssertEqual(ParameterCheck.firstNonFinite(in: state), "bank row 4 holds inf")
        state.items.withUnsafeMutableValues { $0[2] = .nan }
        XCTAssertEqual(ParameterCheck.firstNonFinite(in: state), "item row 0 holds nan")
    }
}
