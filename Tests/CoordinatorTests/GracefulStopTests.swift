@testable import Coordinator
import XCTest

final class GracefulStopTests: XCTestCase {
    func testWaitsForTheStepInFlightUntilTheGracePeriodEnds() {
        let stop = GracefulStop(reason: "SIGTERM", requestedAt: 100, grace: 5)
        XCTAssertFalse(stop.stopsWithoutStep(waitingForWorkers: false, now: 100))
        XCTAssertFalse(stop.stopsWithoutStep(waitingForWorkers: false, now: 104.9))
        XCTAssertTrue(stop.stopsWithoutStep(waitingForWorkers: false, now: 105))
    }

    func testStopsAtOnceWhenNoStepHasStarted() {
        let stop = GracefulStop(reason: "SIGINT", requestedAt: 100)
        XCTAssertTrue(stop.stopsWithoutStep(waitingForWorkers: true, now: 100))
    }

    func testTheDefaultGraceEndsWellBeforeDockerStopKills() {
        XCTAssertLessThanOrEqual(GracefulStop.defaultGrace, 6)
        XCTAssertGreaterThan(GracefulStop.defaultGrace, 1)
    }
}
