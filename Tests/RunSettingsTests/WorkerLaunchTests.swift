import RunSettings
import XCTest

final class WorkerLaunchTests: XCTestCase {
    func testTheWorkersCommandLine() {
        XCTAssertEqual(WorkerLaunch(coordinator: "tcp://127.0.0.1:5", name: "local-1").arguments,
                       ["--coordinator", "tcp://127.0.0.1:5", "--name", "local-1", "--exit-with-parent"])
        XCTAssertEqual(WorkerLaunch(coordinator: "tcp://h:1", name: "w", exitWithParent: false, logLevel: "warning",
                                    blas: "system").arguments,
                       ["--coordinator", "tcp://h:1", "--name", "w", "--log-level", "warning", "--blas", "system"])
    }
}
