import Kernels
import Replication
import Wire
import XCTest

final class SnapshotChunkerTests: XCTestCase {
    /// The rows of each table that the chunks cover, in chunk order, with the values they carry.
    private func coverage(_ chunks: [SnapshotChunk]) -> [SnapshotTable: [Int]] {
        var rows: [SnapshotTable: [Int]] = [:]
        for c in chunks { rows[c.table, default: []] += Array(c.firstRow ..< c.firstRow + c.rowCount) }
        return rows
    }

    func testChunksAreBoundedIndexedAndCoverEveryRowOnce() {
        let (users, items, bank) = ReplicationFixtures.tables(users: 23, items: 17, dim: 3)
        let maxBytes = 5 * 3 * 4 + 7   // room for 5 rows of dim 3, not 6
        let chunks = SnapshotChunker.chunks(version: 9, users: users, items: items, bank: bank, maxBytes: maxBytes)
        // users 23 rows → 5 chunks, items and bank 17 rows → 4 chunks each.
        XCTAssertEqual(chunks.count, 5 + 4 + 4)
        XCTAssertEqual(chunks.map(\.chunkIndex), Array(0 ..< chunks.count))
        for c in chunks {
            XCTAssertEqual(c.chunkCount, chunks.count)
            XCTAssertEqual(c.version, 9)
            XCTAssertEqual(c.dim, 3)
            XCTAssertGreaterThanOrEqual(c.rowCount, 1)
            XCTAssertLessThanOrEqual(c.values.count * 4, maxBytes, "chunk \(c.chunkIndex)")
            let source = [SnapshotTable.users: users, .items: items, .bank: bank][c.table]!
            XCTAssertEqual(c.values, Array(source.values[c.firstRow * 3 ..< (c.firstRow + c.rowCount) * 3]))
        }
        XCTAssertEqual(chunks.map(\.table), [SnapshotTable](repeating: .users, count: 5)
                       + [SnapshotTable](repeating: .items, count: 4) + [SnapshotTable](repeating: .bank, count: 4))
        let rows = coverage(chunks)
        XCTAssertEqual(rows[.users], Array(0 ..< 23))
        XCTAssertEqual(rows[.items], Array(0 ..< 17))
        XCTAssertEqual(rows[.bank], Array(0 ..< 17))
    }

    /// A limit smaller than one row still makes progress: one row per chunk.
    func testAtLeastOneRowPerChunk() {
        let (users, items, bank) = ReplicationFixtures.tables(users: 3, items: 2, dim: 8)
        let chunks = SnapshotChunker.chunks(version: 1, users: users, items: items, bank: bank, maxBytes: 4)
        XCTAssertEqual(chunks.count, 3 + 2 + 2)
        XCTAssertTrue(chunks.allSatisfy { $0.rowCount == 1 })
        XCTAssertEqual(coverage(chunks)[.users], [0, 1, 2])
    }

    /// A table with no rows still gets one (empty) chunk, so that chunkCount is never 0 and every table is named.
    func testEmptyTableYieldsOneChunk() {
        let users = EmbeddingTable(rows: 0, dim: 4)
        let items = ReplicationFixtures.table(rows: 2, dim: 4, seed: 5)
        let bank = ReplicationFixtures.table(rows: 2, dim: 4, seed: 6)
        let chunks = SnapshotChunker.chunks(version: 2, users: users, items: items, bank: bank)
        XCTAssertEqual(chunks.count, 3)
        XCTAssertEqual(chunks[0].table, .users)
        XCTAssertEqual(chunks[0].rowCount, 0)
        XCTAssertEqual(chunks[0].values, [])
        XCTAssertEqual(chunks.map(\.chunkIndex), [0, 1, 2])
        XCTAssertTrue(chunks.allSatisfy { $0.chunkCount == 3 })
    }

    /// Every chunk encodes and decodes as a SNAPSHOT message unchanged.
    func testChunksSurviveTheWire() throws {
        let (users, items, bank) = ReplicationFixtures.tables(users: 4, items: 3, dim: 2)
        for chunk in SnapshotChunker.chunks(version: 3, users: users, items: items, bank: bank, maxBytes: 16) {
            let envelope = Envelope(sender: 0, sequence: 1, message: .snapshot(chunk))
            let (header, payload) = WireCodec.encode(envelope)
            XCTAssertEqual(try WireCodec.decode(header: header, payload: payload), envelope)
        }
    }
}
