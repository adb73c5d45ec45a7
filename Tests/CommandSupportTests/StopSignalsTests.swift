@testable import CommandSupport
import XCTest

final class StopSignalsTests: XCTestCase {
    func testTheResumeCommandIsTheCommandLineWithTheFlagQuotedForAShell() {
        XCTAssertEqual(StopSignals.commandLine(adding: "--resume", arguments: ["/bin/coordinator", "--output", "runs/a b", "--eval-k", "20"]),
                       "/bin/coordinator --output 'runs/a b' --eval-k 20 --resume")
        XCTAssertEqual(StopSignals.commandLine(adding: "--resume", arguments: ["coordinator", "--resume", "--faults", "drop=0.1,seed=7"]),
                       "coordinator --resume --faults drop=0.1,seed=7")
        XCTAssertEqual(StopSignals.shellQuoted("it's"), "'it'\\''s'")
        XCTAssertEqual(StopSignals.shellQuoted(""), "''")
    }

    func testSignalNames() {
        XCTAssertEqual(StopSignals.name(SIGTERM), "SIGTERM")
        XCTAssertEqual(StopSignals.name(SIGINT), "SIGINT")
    }
}
