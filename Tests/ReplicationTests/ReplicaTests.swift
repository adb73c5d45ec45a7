import Kernels
import MemoryBank
import Replication
import Wire
import XCTest

final class ReplicaTests: XCTestCase {
    private let dim = 3

    private func source(version: UInt64 = 4, seedOffset: UInt64 = 0, maxBytes: Int = 2 * 3 * 4)
        -> (chunks: [SnapshotChunk], users: EmbeddingTable, items: EmbeddingTable, bank: EmbeddingTable) {
        let users = ReplicationFixtures.table(rows: 5, dim: dim, seed: 10 + seedOffset)
        let items = ReplicationFixtures.table(rows: 4, dim: dim, seed: 20 + seedOffset)
        let bank = ReplicationFixtures.table(rows: 4, dim: dim, seed: 30 + seedOffset)
        let chunks = SnapshotChunker.chunks(version: version, users: users, items: items, bank: bank, maxBytes: maxBytes)
        return (chunks, users, items, bank)
    }

    private func emptyReplica() -> Replica { Replica(userCount: 5, itemCount: 4, dim: dim) }

    /// Chunks in a shuffled order, some repeated: the load completes exactly when the last missing one arrives.
    func testLoadCompletesOnlyWhenEveryChunkArrived() throws {
        let (chunks, users, items, bank) = source()
        XCTAssertEqual(chunks.count, 3 + 2 + 2)
        var random = SeededRandom(seed: 7)
        var order = Array(chunks.indices)
        order.shuffle(using: &random)
        let replica = emptyReplica()
        XCTAssertNil(replica.version)
        for (n, k) in order.enumerated() {
            let progress = try replica.receive(chunks[k])
            if n < order.count - 1 {
                XCTAssertEqual(progress, .incomplete(received: n + 1, of: chunks.count))
                XCTAssertNil(replica.version, "no version before the last chunk")
                // A repeat of a chunk already stored does not count twice.
                XCTAssertEqual(try replica.receive(chunks[k]), .incomplete(received: n + 1, of: chunks.count))
            } else {
                XCTAssertEqual(progress, .complete(version: 4))
            }
        }
        XCTAssertEqual(replica.version, 4)
        XCTAssertEqual(replica.bank.version, 4)
        XCTAssertEqual(replica.users.values, users.values)
        XCTAssertEqual(replica.items.values, items.values)
        XCTAssertEqual(replica.bank.table.values, bank.values)
        XCTAssertEqual(replica.contentHash(), ReplicaHash.of(users: users, items: items, bank: bank))
    }

    /// A chunk of a newer version abandons the half-loaded older one; older chunks are then ignored.
    func testNewerVersionRestartsTheLoadAndOlderChunksAreIgnored() throws {
        let old = source(version: 4)
        let new = source(version: 5, seedOffset: 100)
        let replica = emptyReplica()
        for chunk in old.chunks.dropLast() { _ = try replica.receive(chunk) }
        XCTAssertEqual(try replica.receive(new.chunks[0]), .incomplete(received: 1, of: new.chunks.count))
        // The last chunk of version 4 no longer completes anything.
        XCTAssertEqual(try replica.receive(old.chunks.last!), .incomplete(received: 1, of: new.chunks.count))
        XCTAssertNil(replica.version)
        var last: Replica.SnapshotProgress?
        for chunk in new.chunks.dropFirst() { last = try replica.receive(chunk) }
        XCTAssertEqual(last, .complete(version: 5))
        XCTAssertEqual(replica.version, 5)
        XCTAssertEqual(replica.contentHash(), ReplicaHash.of(users: new.users, items: new.items, bank: new.bank))
    }

    /// A complete replica that receives a newer snapshot forgets its version until the new one is whole.
    func testNewSnapshotOverACompleteReplica() throws {
        let old = source(version: 4), new = source(version: 9, seedOffset: 100)
        let replica = emptyReplica()
        for chunk in old.chunks { _ = try replica.receive(chunk) }
        XCTAssertEqual(replica.version, 4)
        _ = try replica.receive(new.chunks[0])
        XCTAssertNil(replica.version)
        for chunk in new.chunks.dropFirst() { _ = try replica.receive(chunk) }
        XCTAssertEqual(replica.version, 9)
        XCTAssertEqual(replica.bank.version, 9)
    }

    func testShapeMismatchThrows() throws {
        let replica = emptyReplica()
        let wrongDim = SnapshotChunk(version: 1, table: .users, firstRow: 0, rowCount: 1, chunkIndex: 0, chunkCount: 7,
                                     dim: 2, values: [1, 2])
        let pastTheEnd = SnapshotChunk(version: 1, table: .items, firstRow: 3, rowCount: 2, chunkIndex: 0,
                                       chunkCount: 7, dim: 3, values: [Float](repeating: 1, count: 6))
        let bankTooLong = SnapshotChunk(version: 1, table: .bank, firstRow: 0, rowCount: 5, chunkIndex: 0,
                                        chunkCount: 7, dim: 3, values: [Float](repeating: 1, count: 15))
        for chunk in [wrongDim, pastTheEnd, bankTooLong] {
            XCTAssertThrowsError(try replica.receive(chunk), "\(chunk.table) \(chunk.firstRow) \(chunk.rowCount)") {
                guard case .shapeMismatch(let what)? = $0 as? Replica.ReplicaError else { return XCTFail("\($0)") }
                XCTAssertTrue(what.contains("\(chunk.table)"), what)
            }
        }
        XCTAssertNil(replica.version)
        XCTAssertEqual(replica.items.values, [Float](repeating: 0, count: 12), "a refused chunk writes nothing")
    }

    /// A chunk that claims another total than the load in progress at its version is refused (it could otherwise
    /// be counted in place of a missing chunk), and writes nothing.
    func testAChunkWithAnotherChunkCountIsRefused() throws {
        let (chunks, _, _, _) = source()
        let replica = emptyReplica()
        for chunk in chunks.dropLast(2) { _ = try replica.receive(chunk) }
        var stray = chunks[0]
        stray.chunkIndex = chunks.count + 5
        stray.chunkCount = chunks.count + 6
        stray.values = stray.values.map { $0 + 100 }
        XCTAssertThrowsError(try replica.receive(stray)) {
            guard case .incomplete(let what)? = $0 as? Replica.ReplicaError else { return XCTFail("\($0)") }
            XCTAssertTrue(what.contains("disagrees with the chunks before it"), what)
        }
        XCTAssertEqual(try replica.receive(chunks[chunks.count - 2]), .incomplete(received: chunks.count - 1, of: chunks.count))
        XCTAssertNil(replica.version, "still one chunk missing")
        XCTAssertEqual(try replica.receive(chunks[chunks.count - 1]), .complete(version: 4))
        XCTAssertEqual(replica.users.values, source().users.values, "the stray chunk wrote nothing")
    }

    /// A delta overwrites exactly the named rows of each table and moves replica and bank to the new version.
    func testApplyOverwritesNamedRowsOnly() throws {
        let (chunks, users, items, bank) = source()
        let replica = emptyReplica()
        for chunk in chunks { _ = try replica.receive(chunk) }
        let userDelta = RowBlock(dim: 3, ids: [1, 4], values: [1, 2, 3, 4, 5, 6])
        let itemDelta = RowBlock(dim: 3, ids: [0], values: [7, 8, 9])
        let bankDelta = RowBlock(dim: 3, ids: [2], values: [0.5, 0.5, 0.5])
        replica.apply(baseVersion: 4, version: 5, users: userDelta, items: itemDelta, bank: bankDelta)
        XCTAssertEqual(replica.version, 5)
        XCTAssertEqual(replica.bank.version, 5)
        var expectedUsers = users.values
        expectedUsers.replaceSubrange(3 ..< 6, with: [1, 2, 3])
        expectedUsers.replaceSubrange(12 ..< 15, with: [4, 5, 6])
        var expectedItems = items.values
        expectedItems.replaceSubrange(0 ..< 3, with: [7, 8, 9])
        var expectedBank = bank.values
        expectedBank.replaceSubrange(6 ..< 9, with: [0.5, 0.5, 0.5])
        XCTAssertEqual(replica.users.values, expectedUsers)
        XCTAssertEqual(replica.items.values, expectedItems)
        XCTAssertEqual(replica.bank.table.values, expectedBank)
    }

    func testInvalidateForgetsTheVersionAndAHalfLoad() throws {
        let (chunks, _, _, _) = source()
        let replica = emptyReplica()
        for chunk in chunks { _ = try replica.receive(chunk) }
        replica.invalidate()
        XCTAssertNil(replica.version)
        // A half-loaded snapshot is forgotten too: the load starts again from nothing.
        _ = try replica.receive(chunks[0])
        replica.invalidate()
        XCTAssertEqual(try replica.receive(chunks[1]), .incomplete(received: 1, of: chunks.count))
    }
}
