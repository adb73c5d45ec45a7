import RunSettings
import XCTest
@testable import Wire
import TestSupport

final class WireCodecTests: XCTestCase {
    // MARK: Round trips

    func testEverySampleRoundTrips() throws {
        for envelope in WireSamples.all {
            let (header, payload) = WireCodec.encode(envelope)
            XCTAssertEqual(header.count, WireCodec.headerSize)
            XCTAssertEqual(try WireCodec.decode(header: header, payload: payload), envelope, envelope.message.name)
            XCTAssertEqual(try WireCodec.decode(frames: [header, payload]), envelope)
        }
    }

    func testExtremeValuesRoundTrip() throws {
        let spec = TrainingSpec(users: Int(UInt32.max), items: 0, dim: 1,
                                loss: LossSettings(kind: .bpr, similarity: .dot, temperature: .infinity, negatives: 0,
                                                   removeAccidentalHits: true, mixInBatch: true),
                                sampler: .uniform, popularityAlpha: -0.0, seed: .max)
        let messages: [Message] = [
            .hello(incarnation: .max, lastVersion: .max, runId: 0, workerName: ""),
            .hello(incarnation: 1, lastVersion: 2, runId: 3, workerName: "wörker-é-🚀"),
            .welcome(workerId: .max, runId: .max, currentVersion: 0, spec: spec),
            .step(Step(step: 0, version: 0, users: .empty(dim: 0), items: .empty(dim: 7), bank: .empty(dim: 3), tasks: [])),
            .step(Step(step: 1, version: .max, users: .empty(dim: 0), items: .empty(dim: 0), bank: .empty(dim: 0),
                       tasks: [MinibatchTask(epoch: .max, minibatch: .max, users: [], items: [])])),
            .gradient(Gradient(step: .max, version: .max, epoch: 0, minibatch: 0, examples: 0, lossSum: -.greatestFiniteMagnitude,
                               rowsHash: .max, users: .empty(dim: 0), items: RowBlock(dim: 1, ids: [.max], values: [.leastNonzeroMagnitude]))),
            .heartbeat(version: 0), .heartbeat(version: .max),
            .reset(.unknownWorker, ""), .reset(.newRun, "x"), .shutdown(.error, String(repeating: "é", count: 2048)),
            .reject(.malformed, "m"), .reject(.notAdmitted, "n"),
        ]
        for message in messages {
            let envelope = Envelope(sender: .max, sequence: .max, message: message)
            let (header, payload) = WireCodec.encode(envelope)
            XCTAssertEqual(try WireCodec.decode(header: header, payload: payload), envelope, message.name)
        }
    }

    func testBigStepRoundTrips() throws {
        let envelope = WireSamples.bigStep(rows: 300, dim: 16, tasks: 8, pairs: 256)
        let (header, payload) = WireCodec.encode(envelope)
        XCTAssertEqual(try WireCodec.decode(header: header, payload: payload), envelope)
    }

    func testLongStringIsCutAtACharacterBoundary() throws {
        // 4095 ASCII bytes then a two-byte character: the character does not fit and is dropped whole.
        let long = String(repeating: "a", count: 4095) + "é" + "tail"
        let (header, payload) = WireCodec.encode(Envelope(sender: 0, sequence: 0, message: .shutdown(.error, long)))
        let decoded = try WireCodec.decode(header: header, payload: payload)
        XCTAssertEqual(decoded.message, .shutdown(.error, String(repeating: "a", count: 4095)))
    }

    // MARK: Header rejection

    func testHeaderOfWrongLengthIsRejectedAtEveryCut() {
        let (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        for cut in 0..<header.count {
            assertThrows(.badHeaderLength(cut), header: Array(header[..<cut]), payload: payload)
        }
        assertThrows(.badHeaderLength(33), header: header + [0], payload: payload)
    }

    func testWrongMagic() {
        var (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        header[0] = UInt8(ascii: "X")
        assertThrows(.badMagic(0x4B42_4D58), header: header, payload: payload)
    }

    func testUnsupportedVersion() {
        // 1: the protocol of workers with replicas; 2: specs without hard negatives.
        for version: UInt16 in [0, 1, 2, 4, 0x0300, .max] {
            let header = Header(protocolVersion: version, tag: 6, sender: 0, sequence: 0, payloadLength: 8, payloadCRC32C: 0).bytes
            assertThrows(.unsupportedVersion(version), header: header, payload: [UInt8](repeating: 0, count: 8))
        }
    }

    func testUnknownTag() {
        for tag: UInt16 in [0, 11, 0x0600, .max] {
            assertThrows(.unknownTag(tag), header: Header(tag: tag, sender: 0, sequence: 0, payload: []).bytes, payload: [])
        }
    }

    func testReservedFlagsMustBeZero() {
        let payload = WireCodec.encode(WireSamples.heartbeat).payload
        let header = Header(tag: 6, sender: 0, flags: 0x100, sequence: 0, payloadLength: 8, payloadCRC32C: CRC32C.checksum(payload)).bytes
        assertThrows(.reservedFlags(0x100), header: header, payload: payload)
    }

    func testEveryBitFlipOfThePayloadIsCaught() {
        for envelope in [WireSamples.welcome, WireSamples.step, WireSamples.gradient] {
            let (header, payload) = WireCodec.encode(envelope)
            let crc = CRC32C.checksum(payload)
            for bit in 0..<payload.count * 8 {
                var flipped = payload
                flipped[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
                assertThrows(.checksumMismatch(declared: crc, computed: CRC32C.checksum(flipped)), header: header, payload: flipped)
            }
        }
    }

    func testCorruptChecksumField() {
        var (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        header[31] ^= 0x80
        XCTAssertThrowsError(try WireCodec.decode(header: header, payload: payload)) { error in
            guard case .checksumMismatch = error as? WireError else { return XCTFail("\(error)") }
        }
    }

    func testWrongFrameCount() {
        let (header, payload) = WireCodec.encode(WireSamples.heartbeat)
        for frames in [[], [header], [header, payload, []]] {
            XCTAssertThrowsError(try WireCodec.decode(frames: frames)) { XCTAssertEqual($0 as? WireError, .badFrameCount(frames.count)) }
        }
    }

    // MARK: Payload rejection

    /// With the original header every cut is a length mismatch; with a header forged to match the cut (right
    /// length and CRC), the payload parser itself must report truncation at every cut.
    func testTruncatedPayloadIsRejectedAtEveryCut() {
        for envelope in WireSamples.all + [WireSamples.bigStep(rows: 3, dim: 2, tasks: 2, pairs: 3)] {
            let (header, payload) = WireCodec.encode(envelope)
            for cut in 0..<payload.count {
                let shorter = Array(payload[..<cut])
                assertThrows(.lengthMismatch(declared: UInt32(payload.count), actual: cut), header: header, payload: shorter)
                XCTAssertThrowsError(try WireCodec.decode(header: forge(envelope.message.tag, shorter), payload: shorter)) { error in
                    guard case .truncated = error as? WireError else {
                        return XCTFail("\(envelope.message.name) cut at \(cut): \(error)")
                    }
                }
            }
        }
    }

    func testTrailingBytesAreRejected() {
        for envelope in WireSamples.all {
            let payload = WireCodec.encode(envelope).payload + [0]
            assertThrows(.trailingBytes(1), header: forge(envelope.message.tag, payload), payload: payload)
        }
    }

    /// Counts that claim more data than the payload holds are refused before anything is allocated: a u32 count of
    /// 4 billion rows would otherwise reserve tens of gigabytes.
    func testCountsClaimingMoreThanPresentAreRefused() {
        let max32: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]
        let zeros8 = [UInt8](repeating: 0, count: 8)
        let cases: [(String, MessageTag, [UInt8])] = [
            ("rows count × dim", .step, zeros8 + zeros8 + max32 + max32),
            ("rows count", .step, zeros8 + zeros8 + max32 + [1, 0, 0, 0]),
            ("bank rows", .step, zeros8 + zeros8 + [UInt8](repeating: 0, count: 16) + max32 + [1, 0, 0, 0]),
            ("task count", .step, zeros8 + zeros8 + [UInt8](repeating: 0, count: 24) + max32),
            ("task pairs", .step, zeros8 + zeros8 + [UInt8](repeating: 0, count: 24) + [1, 0, 0, 0] + zeros8 + max32),
            ("gradient rows", .gradient, zeros8 + zeros8 + [UInt8](repeating: 0, count: 12) + zeros8 + zeros8 + [0, 0, 0, 0x10] + [0, 1, 0, 0]),
            ("popularity", .welcome, [UInt8](repeating: 0, count: 20) + [0, 0, 0, 0] + max32 + [1, 0, 0, 0] + [0, 0, 1, 0]
                + [UInt8](repeating: 0, count: 20) + max32),
        ]
        for (name, tag, payload) in cases {
            XCTAssertThrowsError(try WireCodec.decode(header: forge(tag, payload), payload: payload), name) { error in
                guard case .truncated = error as? WireError else { return XCTFail("\(name): \(error)") }
            }
        }
    }

    func testOversizedStringIsRefused() {
        // A length of 4097 is refused whatever follows; so is a length of 4 billion.
        for length: UInt32 in [4097, .max] {
            let payload = [UInt8(1)] + withLittleEndian(length) + [UInt8](repeating: 0x61, count: 4097)
            assertThrows(.tooLarge(what: "reject message length", size: Int(length), limit: 4096), header: forge(.reject, payload), payload: payload)
        }
        let exactly4096 = [UInt8(1)] + withLittleEndian(UInt32(4096)) + [UInt8](repeating: 0x61, count: 4096)
        XCTAssertNoThrow(try WireCodec.decode(header: forge(.reject, exactly4096), payload: exactly4096))
    }

    func testInvalidUTF8IsRefused() {
        let payload: [UInt8] = [1, 2, 0, 0, 0, 0xC3, 0x28]
        assertThrows(.invalid("reject message is not valid UTF-8"), header: forge(.reject, payload), payload: payload)
    }

    func testUnknownCodesAreRefused() {
        let cases: [(MessageTag, [UInt8])] = [
            (.reset, [0, 0, 0, 0, 0]), (.reset, [4, 0, 0, 0, 0]), (.shutdown, [2, 0, 0, 0, 0]), (.reject, [0, 0, 0, 0, 0]),
        ]
        for (tag, payload) in cases {
            XCTAssertThrowsError(try WireCodec.decode(header: forge(tag, payload), payload: payload)) { error in
                guard case .invalid = error as? WireError else { return XCTFail("\(tag): \(error)") }
            }
        }
    }

    func testSpecCodesAndFlagsAreChecked() {
        let good = WireCodec.encode(WireSamples.welcome).payload
        // spec starts at offset 20: users, items, dim (12 bytes), then loss, similarity, sampler, flags.
        for (offset, value) in [(32, 5), (33, 2), (34, 2)] {
            var payload = good
            payload[offset] = UInt8(value)
            XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, payload), payload: payload)) { error in
                guard case .invalid = error as? WireError else { return XCTFail("offset \(offset): \(error)") }
            }
        }
        // The spec of the sample WELCOME with flag bits `bits` set as well, nil when it is refused.
        func spec(adding bits: UInt8) -> TrainingSpec? {
            var payload = good
            payload[35] |= bits
            guard case let .welcome(_, _, _, spec) = try? WireCodec.decode(header: forge(.welcome, payload),
                                                                        payload: payload).message else { return nil }
            return spec
        }
        guard let live = spec(adding: 0x10) else { return XCTFail("flag bit 4 (liveNegatives) refused") }
        XCTAssertTrue(live.loss.liveNegatives)
        XCTAssertNil(live.loss.positiveTemperature)
        guard let trained = spec(adding: 0x80) else { return XCTFail("flag bit 7 (trainedBankNegatives) refused") }
        XCTAssertTrue(trained.loss.trainedBankNegatives)
        XCTAssertFalse(trained.loss.liveNegatives)
        XCTAssertEqual(WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .welcome(
            workerId: 1, runId: 2, currentVersion: 0, spec: trained))).payload[35] & 0x80, 0x80, "and written back")
        var wrongPopularity = good
        wrongPopularity[24] = 4  // items 3 → 4, but 3 popularity entries follow
        XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, wrongPopularity), payload: wrongPopularity))
    }

    /// Hard negatives travel as two counts, and bring every user's training items with them (without the flag
    /// that masks them among the shared negatives); a pool without hard negatives is refused.
    func testHardNegativesTravelWithTheirPoolAndTheUsersItems() throws {
        let loss = LossSettings(kind: .bankInfoNCE, temperature: 0.1, negatives: 4, liveNegatives: true,
                                hardNegatives: 3, hardNegativePool: 9, hardNegativeSkip: 2)
        let spec = TrainingSpec(users: 2, items: 5, dim: 4, loss: loss, sampler: .uniform, popularityAlpha: 0, seed: 1,
                                seenCounts: [2, 1], seenItems: [0, 3, 4])
        XCTAssertEqual(spec.seenItems, [0, 3, 4], "hard negatives keep the users' items")
        let envelope = Envelope(sender: 0, sequence: 1, message: .welcome(workerId: 1, runId: 2, currentVersion: 0, spec: spec))
        let encoded = WireCodec.encode(envelope)
        guard case let .welcome(_, _, _, decoded) = try WireCodec.decode(header: encoded.header, payload: encoded.payload)
            .message else { return XCTFail("not a WELCOME") }
        XCTAssertEqual(decoded, spec)
        XCTAssertEqual(decoded.loss.hardNegatives, 3)
        XCTAssertEqual(decoded.loss.hardNegativePool, 9)
        XCTAssertEqual(decoded.loss.hardNegativeSkip, 2)
        XCTAssertFalse(decoded.maskSeenItems)
        XCTAssertTrue(decoded.carriesSeenItems)
        // The pool count sits after hard negatives' count; with hard negatives 0 it must be 0 too.
        var withoutHard = spec
        withoutHard.loss.hardNegatives = 0
        XCTAssertEqual(withoutHard.loss.hardNegativePool, 0, "the canonical form drops the pool")
        XCTAssertEqual(withoutHard.loss.hardNegativeSkip, 0, "and the skip")
        let plain = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .welcome(
            workerId: 1, runId: 2, currentVersion: 0, spec: withoutHard))).payload
        var forged = plain
        let at = 20 + 12 + 4 + 4 + 4   // dims, codes and flags, τ, K, then the hard-negative count
        XCTAssertEqual(Array(forged[at ..< at + 12]), [UInt8](repeating: 0, count: 12))
        for field in [4, 8] {   // a pool, or a skip, without hard negatives
            var forged = plain
            forged[at + field] = 7
            XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, forged), payload: forged)) { error in
                guard case .invalid = error as? WireError else { return XCTFail("\(error)") }
            }
        }
    }

    func testPositiveTemperatureTravelsBehindItsFlagAndMustBePositive() throws {
        var spec = TrainingSpec(users: 3, items: 2, dim: 4,
                                loss: LossSettings(temperature: 0.1, negatives: 8, removeAccidentalHits: false,
                                                   positiveTemperature: 0.25),
                                sampler: .uniform, popularityAlpha: 0.75, seed: 9)
        let welcome = Message.welcome(workerId: 1, runId: 2, currentVersion: 0, spec: spec)
        let encoded = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: welcome))
        XCTAssertEqual(encoded.payload[35] & 0x20, 0x20, "flag bit 5 set")
        guard case let .welcome(_, _, _, decoded) = try WireCodec.decode(header: encoded.header, payload: encoded.payload).message else {
            return XCTFail("not a WELCOME")
        }
        XCTAssertEqual(decoded, spec)
        XCTAssertEqual(decoded.loss.positiveTemperature, 0.25)
        spec.loss.positiveTemperature = nil
        let plain = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .welcome(workerId: 1, runId: 2, currentVersion: 0, spec: spec)))
        XCTAssertEqual(plain.payload.count + 4, encoded.payload.count, "4 bytes only when set")
        // τ⁺ = −1 on the wire: refused.
        var bad = encoded.payload
        let at = 20 + 12 + 4 + 4   // spec start, three u32, four u8, the f32 temperature
        withUnsafeBytes(of: Float(-1).bitPattern.littleEndian) { bad.replaceSubrange(at ..< at + 4, with: $0) }
        XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, bad), payload: bad)) { error in
            guard case .invalid = error as? WireError else { return XCTFail("\(error)") }
        }
    }

    /// Flag bit 6 brings per-user counts and the items they add up to; counts that do not add up are refused.
    func testSeenItemsTravelBehindTheirFlagAndMustAddUp() throws {
        let spec = TrainingSpec(users: 3, items: 5, dim: 4,
                                loss: LossSettings(temperature: 0.1, negatives: 8, removeAccidentalHits: false,
                                                   maskSeenItems: true),
                                sampler: .uniform, popularityAlpha: 0.75, seed: 9,
                                seenCounts: [2, 0, 1], seenItems: [1, 4, 0])
        let encoded = WireCodec.encode(Envelope(sender: 0, sequence: 1,
                                                message: .welcome(workerId: 1, runId: 2, currentVersion: 0, spec: spec)))
        XCTAssertEqual(encoded.payload[35] & 0x40, 0x40, "flag bit 6 set")
        guard case let .welcome(_, _, _, decoded) = try WireCodec.decode(header: encoded.header, payload: encoded.payload).message else {
            return XCTFail("not a WELCOME")
        }
        XCTAssertEqual(decoded, spec)
        var off = spec
        off.loss.maskSeenItems = false
        let plain = WireCodec.encode(Envelope(sender: 0, sequence: 1, message: .welcome(workerId: 1, runId: 2, currentVersion: 0, spec: off)))
        XCTAssertEqual(plain.payload.count + 4 * (3 + 1 + 3), encoded.payload.count, "counts, total and items only when set")
        // The total (after the three counts) says 4, but the counts add up to 3.
        var bad = encoded.payload
        let at = bad.count - 4 * 3 - 4
        withUnsafeBytes(of: UInt32(4).littleEndian) { bad.replaceSubrange(at ..< at + 4, with: $0) }
        XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, bad), payload: bad)) { error in
            guard case .invalid = error as? WireError else { return XCTFail("\(error)") }
        }
    }

    func testCCLSettingsTravelWithLossFourAndAreChecked() throws {
        let spec = TrainingSpec(users: 3, items: 2, dim: 4,
                                loss: LossSettings(kind: .ccl, temperature: 1, negatives: 8, removeAccidentalHits: false,
                                                   cclMargin: 0.9, cclNegativeWeight: 150),
                                sampler: .uniform, popularityAlpha: 0.75, seed: 9)
        let encoded = WireCodec.encode(Envelope(sender: 0, sequence: 1,
                                                message: .welcome(workerId: 1, runId: 2, currentVersion: 0, spec: spec)))
        guard case let .welcome(_, _, _, decoded) = try WireCodec.decode(header: encoded.header, payload: encoded.payload).message else {
            return XCTFail("not a WELCOME")
        }
        XCTAssertEqual(decoded, spec)
        var bad = encoded.payload
        let at = 20 + 12 + 4 + 4   // the margin follows the temperature
        withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { bad.replaceSubrange(at ..< at + 4, with: $0) }
        XCTAssertThrowsError(try WireCodec.decode(header: forge(.welcome, bad), payload: bad)) { error in
            guard case .invalid = error as? WireError else { return XCTFail("\(error)") }
        }
    }

    /// SNAPSHOT (3) and SYNC (7) were retired with protocol version 2: their tags are unknown, never reused.
    func testRetiredTagsAreUnknown() {
        XCTAssertNil(MessageTag(rawValue: 3))
        XCTAssertNil(MessageTag(rawValue: 7))
        for tag: UInt16 in [3, 7] {
            let payload = [UInt8](repeating: 0, count: 8)
            assertThrows(.unknownTag(tag), header: forge(tag, payload), payload: payload)
        }
    }

    func testRowBlockValidate() {
        let block = RowBlock(dim: 2, ids: [0, 4], values: [1, 2, 3, 4])
        XCTAssertNoThrow(try block.validate(rowLimit: 5, dim: 2, "users"))
        XCTAssertThrowsError(try block.validate(rowLimit: 4, dim: 2, "users"))
        XCTAssertThrowsError(try block.validate(rowLimit: 5, dim: 3, "users"))
        XCTAssertNoThrow(try RowBlock.empty(dim: 8).validate(rowLimit: 0, dim: 8, "users"))
        // An empty block of another dim would still trip a receiver's scatter or sum.
        XCTAssertThrowsError(try RowBlock.empty(dim: 0).validate(rowLimit: 0, dim: 8, "users"))
    }

    func testErrorsDescribeThemselves() {
        XCTAssertEqual(WireError.badMagic(0x4B42_4D58).description, "bad magic 0x4b424d58 (expected 0x4b424d45)")
        XCTAssertEqual(WireError.checksumMismatch(declared: 1, computed: 0xABCDEF).description,
                       "payload CRC32C mismatch: header 0x00000001, computed 0x00abcdef")
    }

    // MARK: Helpers

    private func forge(_ tag: UInt16, _ payload: [UInt8]) -> [UInt8] {
        Header(tag: tag, sender: 1, sequence: 1, payload: payload).bytes
    }

    private func forge(_ tag: MessageTag, _ payload: [UInt8]) -> [UInt8] { forge(tag.rawValue, payload) }

    private func withLittleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    private func assertThrows(_ expected: WireError, header: [UInt8], payload: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try WireCodec.decode(header: header, payload: payload), file: file, line: line) { error in
            XCTAssertEqual(error as? WireError, expected, file: file, line: line)
        }
    }
}
