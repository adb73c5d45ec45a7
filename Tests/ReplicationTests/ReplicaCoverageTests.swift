import Kernels
@testable import Replication
import Wire
import XCTest

/// A snapshot is complete only when its chunks tile every table exactly: a forged set that claims completion with a
/// table missing, or rows twice, is refused instead of leaving rows of the replica unset.
final class ReplicaCoverageTests: XCTestCase {
    let dim = 2

    func chunk(_ table: SnapshotTable, _ rows: Range<Int>, index: Int, of count: Int) -> SnapshotChunk {
        SnapshotChunk(version: 3, table: table, firstRow: rows.lowerBound, rowCount: rows.count, chunkIndex: index,
                      chunkCount: count, dim: dim, values: [Float](repeating: 0.5, count: rows.count * dim))
    }

    func load(_ chunks: [SnapshotChunk]) throws -> Replica.SnapshotProgress? {
        let replica = Replica(userCount: 4, itemCount: 3, dim: dim)
        var last: Replica.SnapshotProgress?
        for c in chunks { last = try replica.receive(c) }
        return last
    }

    func testEveryTableTiledExactlyCompletes() throws {
        let chunks = [chunk(.users, 0 ..< 2, index: 0, of: 4), chunk(.users, 2 ..< 4, index: 1, of: 4),
                      chunk(.items, 0 ..< 3, index: 2, of: 4), chunk(.bank, 0 ..< 3, index: 3, of: 4)]
        XCTAssertEqual(try load(chunks.reversed()), .complete(version: 3))
    }

    func testAMissingBankChunkIsNotAComplete() {
        let forged = [chunk(.users, 0 ..< 4, index: 0, of: 2), chunk(.items, 0 ..< 3, index: 1, of: 2)]
        XCTAssertThrowsError(try load(forged)) { XCTAssertTrue("\($0)".contains("bank rows 0..<3 missing"), "\($0)") }
    }

    func testOverlappingChunksAreNotAComplete() {
        let forged = [chunk(.users, 0 ..< 3, index: 0, of: 4), chunk(.users, 2 ..< 4, index: 1, of: 4),
                      chunk(.items, 0 ..< 3, index: 2, of: 4), chunk(.bank, 0 ..< 3, index: 3, of: 4)]
        XCTAssertThrowsError(try load(forged)) { XCTAssertTrue("\($0)".contains("sent twice"), "\($0)") }
    }

    func testAChunkThatContradictsEarlierOnesRestartsNothingSilently() {
        let forged = [chunk(.users, 0 ..< 2, index: 0, of: 4), chunk(.items, 0 ..< 2, index: 0, of: 4)]
        XCTAssertThrowsError(try load(forged))
        let recount = [chunk(.users, 0 ..< 2, index: 0, of: 4), chunk(.users, 2 ..< 4, index: 1, of: 5)]
        XCTAssertThrowsError(try load(recount))
    }

    /// A duplicate chunk arriving after the load completed leaves the replica as it is; an older version (a resumed
    /// coordinator) starts a new load; after a load that did not cover the tables, its version may be sent again.
    func testDuplicatesStaleVersionsAndRetries() throws {
        let replica = Replica(userCount: 4, itemCount: 3, dim: dim)
        let chunks = [chunk(.users, 0 ..< 4, index: 0, of: 3), chunk(.items, 0 ..< 3, index: 1, of: 3),
                      chunk(.bank, 0 ..< 3, index: 2, of: 3)]
        for c in chunks { _ = try replica.receive(c) }
        XCTAssertEqual(replica.version, 3)
        XCTAssertEqual(try replica.receive(chunks[1]), .complete(version: 3))
        XCTAssertEqual(replica.version, 3, "a duplicate must not unload the replica")
        var older = chunks[0]
        older.version = 2
        XCTAssertEqual(try replica.receive(older), .incomplete(received: 1, of: 3))
        XCTAssertNil(replica.version)
        let forged = [chunk(.users, 0 ..< 4, index: 0, of: 2), chunk(.items, 0 ..< 3, index: 1, of: 2)]
        let fresh = Replica(userCount: 4, itemCount: 3, dim: dim)
        _ = try fresh.receive(forged[0])
        XCTAssertThrowsError(try fresh.receive(forged[1]))
        for c in chunks { _ = try fresh.receive(c) }
        XCTAssertEqual(fresh.version, 3, "the same version sent again after a failed load is taken")
    }

    func testRowsBeyondTheTableThrowWithoutOverflow() {
        XCTAssertThrowsError(try load([chunk(.users, 3 ..< 5, index: 0, of: 1)]))
        var huge = chunk(.items, 0 ..< 1, index: 0, of: 1)
        huge.firstRow = Int.max
        XCTAssertThrowsError(try load([huge]))
    }
}
